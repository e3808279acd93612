"""A small test-only model declaring protected fields, as the registry's will.

It lives under the ``privacy`` app label, so ``protected_models()`` (and with it the reveal
API and ``rotate-key``) finds it like any installed model; ``conftest`` creates its table in
the test database. Scoped by a copied region path, like ``registry.Place``.
"""

from __future__ import annotations

from django.db import models

from wangge.privacy.fields import ProtectedField


class Resident(models.Model):
    scope_path_field = "region_path"

    label = models.CharField(max_length=40)
    region_path = models.CharField(max_length=400)
    id_number = ProtectedField("id_number")
    phone = ProtectedField("phone")
    address = ProtectedField("address")

    class Meta:
        app_label = "privacy"
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label

"""``ProtectedField``: how a model declares a protected value (see ``kinds`` for the rules).

``id_number = ProtectedField("id_number")`` adds three ordinary columns that migrations
write out plainly — ``id_number_cipher`` (text), ``id_number_index`` (64 hex characters,
indexed) and ``id_number_masked`` — and makes ``id_number`` an attribute that:

- on assignment (also ``Model(id_number=…)`` and ``objects.create``) checks, seals, indexes
  and masks the value, raising ``ValidationError({"id_number": …})`` naming what is wrong;
- on reading gives the mask: code that forgets it handles personal data shows the safe form;
- on the class gives ``lookup(raw)``, a ``Q`` matching rows holding that exact value.

Data migrations see only the three columns (historical models have no attribute): protect
there with ``kinds.protect``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from . import kinds
from .errors import InvalidValue


class ProtectedAttribute(property):
    """The model attribute: protect on set, mask on get. A ``property`` so that Django
    accepts it as a keyword of the model's constructor."""

    def __init__(self, name: str, kind: kinds.Kind):
        self.name = name
        self.kind = kind
        super().__init__(self._get, self._set)

    def _get(self, obj: models.Model) -> str:
        return getattr(obj, f"{self.name}_masked")

    def _set(self, obj: models.Model, raw: str | None) -> None:
        try:
            value = kinds.protect(self.kind, raw or "")
        except InvalidValue as exc:
            raise ValidationError({self.name: [str(exc)]}) from None
        setattr(obj, f"{self.name}_cipher", value.cipher)
        setattr(obj, f"{self.name}_index", value.index)
        setattr(obj, f"{self.name}_masked", value.masked)

    def lookup(self, raw: str) -> Q:
        """Rows whose value is ``raw`` (as typed; a value that cannot be read matches none)."""
        index = kinds.index_for(self.kind, raw)
        return Q(**{f"{self.name}_index": index}) if index else Q(pk__in=[])


class ProtectedField:
    """Declare a protected value of ``kind`` (a code in ``kinds.KINDS``) on a model."""

    def __init__(self, kind: str, verbose_name=None, *, help_text: str = ""):
        self.kind = kinds.get_kind(kind)
        self.verbose_name = verbose_name or self.kind.label
        self.help_text = help_text

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        cls.add_to_class(f"{name}_cipher", models.TextField(blank=True, default="",
                                                            editable=False))
        cls.add_to_class(f"{name}_index", models.CharField(max_length=64, blank=True,
                                                           default="", db_index=True,
                                                           editable=False))
        cls.add_to_class(f"{name}_masked", models.CharField(
            self.verbose_name, max_length=self.kind.masked_length, blank=True, default="",
            editable=False, help_text=self.help_text))
        setattr(cls, name, ProtectedAttribute(name, self.kind))
        # A new dict per class: a subclass adding a field must not add it to its parent.
        cls.protected_fields = {**getattr(cls, "protected_fields", {}), name: self.kind.code}

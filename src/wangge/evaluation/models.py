"""The governance index's weights — 指数权重, kept as a history of immutable sets.

Every change an administrator saves is a new ``WeightSet`` with the next version number;
nothing is overwritten, so a score computed with version 3 can be explained with version 3
long after version 7 is current.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WeightSet(models.Model):
    """One version of the index: dimensions, their weights and their indicators' weights.

    ``spec`` = {"dimensions": [{"code", "zh", "en", "weight", "indicators": {code: weight}}]};
    weights are percentages, each list summing to 100 (checked by ``service.validate_spec``).
    """

    version = models.PositiveIntegerField(unique=True)
    spec = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"

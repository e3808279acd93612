"""Briefings — 工作简报: a stored snapshot of one node's figures for one day, week or month."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    DAILY = "daily", _("daily (日报)")
    WEEKLY = "weekly", _("weekly (周报)")
    MONTHLY = "monthly", _("monthly (月报)")


class Briefing(models.Model):
    """One briefing of one node and period, generated once and kept as it was then.

    ``content`` is the snapshot (figures, rankings, overdue cases as the system saw them at
    ``generated_at``); pages and XLSX are rendered from it, so a briefing reads the same a year
    later. One row per node, kind and period: two workers racing generate it once.
    """

    scope_path_field = "node_path"

    node = models.ForeignKey("regions.Region", on_delete=models.CASCADE,
                             related_name="briefings")
    node_path = models.CharField(max_length=400, db_index=True)  # the node's path, for scope
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    generated_at = models.DateTimeField(_("generated at"))
    content = models.JSONField(default=dict)

    class Meta:
        ordering = ["-period_start", "kind", "node_path"]
        constraints = [models.UniqueConstraint(fields=["node", "kind", "period_start"],
                                               name="one_briefing_per_node_kind_period")]
        indexes = [models.Index(fields=["kind", "period_start"], name="briefing_kind_start")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.kind} {self.period_start}"

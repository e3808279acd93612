"""The grid matters list — 网格事项准入清单: what departments may ask of grids, admitted by
the district, with every decision kept (多网合一: one list for every department).

Only ``service`` changes these tables; ``MatterDecision`` is append-only history.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.accounts.roles import Role


class Frequency(models.TextChoices):
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")
    MONTHLY = "monthly", _("monthly")
    QUARTERLY = "quarterly", _("quarterly")
    YEARLY = "yearly", _("yearly")
    ON_DEMAND = "on_demand", _("as needed")


class MatterStatus(models.TextChoices):
    APPLIED = "applied", _("applied")
    ADMITTED = "admitted", _("admitted")
    REFUSED = "refused", _("refused")
    EXIT_APPLIED = "exit_applied", _("exit applied")
    EXITED = "exited", _("exited")


# Statuses in which an item is on the list (an exit asked for but not yet approved keeps it).
ON_LIST = (MatterStatus.ADMITTED, MatterStatus.EXIT_APPLIED)
# Department roles that see only their own department's items.
DEPARTMENT_ROLES = frozenset({Role.HANDLER, Role.STEWARD})


class MatterItem(models.Model):
    """A grid matter — 网格事项: one kind of work a department asks of grid workers."""

    scope_path_field = "region__path"

    name = models.CharField(_("name"), max_length=120)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                    related_name="matter_items", verbose_name=_("department"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT,
                               related_name="matter_items", verbose_name=_("district"))
    basis = models.TextField(_("legal or policy basis"))
    duties = models.TextField(_("what grid workers do"))
    frequency = models.CharField(_("frequency"), max_length=20, choices=Frequency.choices)
    fields = models.JSONField(_("catalogue fields collected"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=MatterStatus.choices,
                              default=MatterStatus.APPLIED, db_index=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    exited_on = models.DateField(_("exited on"), null=True, blank=True)
    applied_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                   related_name="+", null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["department", "status"], name="matter_dept_status")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_refine(cls, user, base: Q) -> Q:
        """A department's handlers and stewards see their own department's items only."""
        if user.role in DEPARTMENT_ROLES:
            return base & Q(department_id=user.department_id)
        return base

    @property
    def on_list(self) -> bool:
        return self.status in ON_LIST


class DecisionAction(models.TextChoices):
    APPLY = "apply", _("applied for admission")
    ADMIT = "admit", _("admitted")
    REFUSE = "refuse", _("refused")
    APPLY_EXIT = "apply_exit", _("applied for exit")
    APPROVE_EXIT = "approve_exit", _("exit approved")
    REFUSE_EXIT = "refuse_exit", _("exit refused")


class MatterDecision(models.Model):
    """One step of an item's history — 审核记录; append-only."""

    item = models.ForeignKey(MatterItem, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(_("action"), max_length=20, choices=DecisionAction.choices)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("matter decisions are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("matter decisions are append-only")

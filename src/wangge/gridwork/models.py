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


# ---------------------------------------------------------------------------------------------
# Tasks, inspections and campaigns — 任务、定期巡检、拉网式排查
# ---------------------------------------------------------------------------------------------


class TaskKind(models.TextChoices):
    TASK = "task", _("one-off task")  # 一次性任务
    INSPECTION = "inspection", _("recurring inspection")  # 定期巡检
    CAMPAIGN = "campaign", _("campaign")  # 拉网式排查


class TargetKind(models.TextChoices):
    """What one target of a task is: once per grid, or every household/building/place."""

    GRID = "grid", _("each grid once")
    HOUSEHOLD = "household", _("every household")
    BUILDING = "building", _("every building")
    PLACE = "place", _("listed places")


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    LAUNCHING = "launching", _("launching")
    LAUNCHED = "launched", _("launched")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


class Task(models.Model):
    """A task a department sends to grids — 任务: one-off, a recurring inspection or a campaign.

    It must name an admitted matter item (``service.require_admitted``): the gate of 多网合一.
    ``region`` is the area it is sent to; ``areas`` narrows it to chosen grids or communities
    (region ids; empty: the whole area). ``target_filter`` narrows the targets (place kinds,
    house usage). ``fields`` are the catalogue fields asked of each target.
    """

    scope_path_field = "region_path"

    kind = models.CharField(_("kind"), max_length=12, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=120)
    instructions = models.TextField(_("instructions"), blank=True)
    matter = models.ForeignKey(MatterItem, on_delete=models.PROTECT, related_name="tasks",
                               verbose_name=_("matter item"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="grid_tasks", verbose_name=_("department"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("area"))
    region_path = models.CharField(max_length=400, db_index=True, editable=False)
    areas = models.JSONField(_("chosen grids or communities"), default=list, blank=True)
    target_kind = models.CharField(_("targets"), max_length=12, choices=TargetKind.choices)
    target_filter = models.JSONField(_("target filter"), default=dict, blank=True)
    fields = models.JSONField(_("fields asked"), default=list, blank=True)
    recurrence = models.CharField(_("repeats"), max_length=20, choices=Frequency.choices,
                                  blank=True)
    starts_on = models.DateField(_("starts on"))
    due_on = models.DateField(_("due on"), null=True, blank=True)
    remind_days = models.PositiveSmallIntegerField(_("remind days before the deadline"),
                                                   default=2)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices,
                              default=TaskStatus.DRAFT, db_index=True)
    targets_total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The periods whose targets exist, for a recurring inspection ("2026-11", …).
    periods = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["department", "status"], name="task_dept_status")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    @classmethod
    def scope_refine(cls, user, base: Q) -> Q:
        """A department sees its own tasks; everyone else the tasks sent into their subtree,
        and those sent to an area holding their node (a district's campaign reaches the
        community staff and grid workers who carry it out)."""
        if user.role in DEPARTMENT_ROLES:
            return Q(department_id=user.department_id) & base
        path = user.region.path if getattr(user, "region", None) is not None else ""
        codes = path.rstrip(".").split(".") if path else []
        above = ["".join(f"{c}." for c in codes[:i]) for i in range(1, len(codes))]
        return base | Q(region_path__in=above) if above else base


class TargetStatus(models.TextChoices):
    PENDING = "pending", _("to do")
    DONE = "done", _("done")
    UNABLE = "unable", _("could not be done")  # 无法完成: nobody home, refused, demolished


class TaskTarget(models.Model):
    """One target of a task in one grid — 任务对象: a household, building, place or the grid.

    ``object_id`` is the registry row (or grid) it stands for; ``label`` is a non-personal
    name (household number, building address, place name) so lists need no join.
    """

    scope_path_field = "region_path"

    # No single-column indexes on task and assignee: the composite indexes below lead with
    # them, and every extra index is written once per target of a 500,000-target launch.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="targets",
                             db_index=False)
    period = models.CharField(max_length=10, blank=True, default="")
    object_id = models.BigIntegerField()
    label = models.CharField(max_length=200, blank=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=400)
    assignee = models.ForeignKey("accounts.User", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="grid_targets",
                                 db_index=False)
    status = models.CharField(max_length=8, choices=TargetStatus.choices,
                              default=TargetStatus.PENDING)
    due_on = models.DateField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    idempotency_key = models.CharField(max_length=80, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["region_path", "id"]
        constraints = [models.UniqueConstraint(fields=["task", "period", "object_id"],
                                               name="task_target_once")]
        indexes = [
            models.Index(fields=["task", "region_path"], name="target_task_path"),
            models.Index(fields=["assignee", "status"], name="target_assignee_status"),
            models.Index(fields=["region_path", "status"], name="target_path_status"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.label or self.object_id}"


class TaskTally(models.Model):
    """Progress of a task (and period) under one region node — 进度: kept, not counted.

    One row per node from each target's grid up to the task's area, so a street's progress
    page reads a few dozen rows, whatever the campaign's size.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="tallies")
    period = models.CharField(max_length=10, blank=True, default="")
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    parent_id_hint = models.BigIntegerField(null=True, blank=True, db_index=True)
    level = models.PositiveSmallIntegerField()
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    unable = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "period", "region"],
                                               name="task_tally_once")]
        indexes = [models.Index(fields=["task", "period", "parent_id_hint"],
                                name="tally_children")]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.period}:{self.region_id}"


class Reminder(models.Model):
    """A reminder sent for a task to a worker on a day — kept so none is sent twice."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10, blank=True, default="")
    on = models.DateField()
    pending = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user", "period", "on"],
                                               name="reminder_once_a_day")]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.user_id}:{self.on}"


# ---------------------------------------------------------------------------------------------
# Visits to key-care persons — 走访
# ---------------------------------------------------------------------------------------------


class VisitOutcome(models.TextChoices):
    WELL = "well", _("doing well")  # 情况良好
    NEEDS_HELP = "needs_help", _("needs help")  # 需要帮扶
    NOT_HOME = "not_home", _("not at home")  # 未见到本人 (does not count as a visit)
    IN_HOSPITAL = "in_hospital", _("in hospital")  # 住院
    MOVED = "moved", _("moved away")  # 已搬离


# An attempt that found nobody does not restart the interval.
COUNTS_AS_VISIT = frozenset(set(VisitOutcome) - {VisitOutcome.NOT_HOME})


class Visit(models.Model):
    """A visit to a key-care person — 走访记录 — for a tag with a visit interval."""

    scope_path_field = "region_path"

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT,
                               related_name="visits")
    tag = models.ForeignKey("registry.TagDefinition", on_delete=models.PROTECT,
                            related_name="visits")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=400, db_index=True)
    visited_at = models.DateTimeField(_("visited at"))
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="visits")
    outcome = models.CharField(_("outcome"), max_length=12, choices=VisitOutcome.choices)
    note = models.TextField(_("note"), blank=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_at", "-pk"]
        indexes = [models.Index(fields=["person", "tag", "visited_at"], name="visit_person_tag")]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.visited_at:%Y-%m-%d}"


# ---------------------------------------------------------------------------------------------
# Patrols and offline sync — 巡查日志、离线同步
# ---------------------------------------------------------------------------------------------


class Patrol(models.Model):
    """A patrol of a grid — 巡查: when, how far, and the GPS track points sent."""

    scope_path_field = "region_path"

    worker = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                               related_name="patrols")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=400, db_index=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    distance_m = models.FloatField(default=0)
    point_count = models.PositiveIntegerField(default=0)
    client_key = models.CharField(max_length=80, unique=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["worker", "started_at"], name="patrol_worker_start")]

    def __str__(self) -> str:
        return f"{self.worker_id}:{self.started_at:%Y-%m-%d %H:%M}"


class TrackPoint(models.Model):
    """One GPS fix of a patrol (WGS-84); a point sent twice is stored once."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="points")
    at = models.DateTimeField()
    lon = models.FloatField()
    lat = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["patrol", "at"], name="track_point_once")]

    def __str__(self) -> str:
        return f"{self.patrol_id}:{self.at:%H:%M:%S}"


class SyncOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    CONFLICT = "conflict", _("conflict")  # someone else changed it first; nothing written
    REFUSED = "refused", _("refused")  # invalid or not allowed; nothing written


class SyncReceipt(models.Model):
    """What the server answered to one item sent from a device — 同步回执, by its key.

    A retried item gets the same answer and changes nothing; conflicts stay listed for the
    worker until she dismisses them.
    """

    key = models.CharField(max_length=80, unique=True)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE,
                             related_name="sync_receipts")
    kind = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=SyncOutcome.choices)
    detail = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    dismissed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["user", "outcome", "dismissed"], name="receipt_user")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}:{self.outcome}"


# ---------------------------------------------------------------------------------------------
# Staffing — 网格调整建议
# ---------------------------------------------------------------------------------------------


class ProposalKind(models.TextChoices):
    SPLIT = "split", _("split a grid")  # 拆分
    MERGE = "merge", _("merge grids")  # 合并


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


class GridProposal(models.Model):
    """A proposal to split an overloaded grid or merge light ones — 网格调整建议 — for review.

    ``geometry`` is a GeoJSON FeatureCollection of the grids as proposed; ``figures`` the
    workload and household numbers that led to it.
    """

    scope_path_field = "region_path"

    kind = models.CharField(_("kind"), max_length=8, choices=ProposalKind.choices)
    community = models.ForeignKey("regions.Region", on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("community"))
    region_path = models.CharField(max_length=400, db_index=True)
    grids = models.JSONField(default=list)
    geometry = models.JSONField(default=dict)
    figures = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ProposalStatus.choices,
                              default=ProposalStatus.PROPOSED)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.grids}"

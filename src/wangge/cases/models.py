"""Cases — 事件/案件, and what the closed loop needs around them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.accounts.roles import Role
from wangge.core import clock

from .workflow import State, Step


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("component (部件)")  # 城市管理部件: manholes, lamps …
    EVENT = "event", _("event (事件)")  # 城市管理事件: illegal parking, garbage …
    REQUEST = "request", _("resident request (诉求)")  # 12345-style requests


class Category(models.Model):
    """Case category — 事件分类, a two-level tree administrators edit."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(max_length=120, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    kind = models.CharField(max_length=12, choices=CategoryKind.choices)
    is_active = models.BooleanField(default=True)
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Urgency(models.TextChoices):
    NORMAL = "normal", _("normal")  # 一般
    URGENT = "urgent", _("urgent")  # 紧急
    CRITICAL = "critical", _("critical")  # 特急


class Source(models.TextChoices):
    PATROL = "patrol", _("grid worker patrol")  # 巡查上报
    RESIDENT = "resident", _("resident")  # 居民上报
    HOTLINE = "hotline", _("12345 hotline")  # 热线工单
    SENSOR = "sensor", _("sensor alert")  # 物联感知
    VIDEO = "video", _("video alert")  # 雪亮工程
    REFERRAL = "referral", _("referral from above")  # 上级交办
    OPEN311 = "open311", _("Open311 client")


class Case(models.Model):
    """A case — 事件/案件: one matter reported in one place, followed until it is closed."""

    scope_path_field = "region_path"

    code = models.CharField(_("case number"), max_length=24, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    source = models.CharField(max_length=10, choices=Source.choices)
    state = models.CharField(max_length=14, choices=State.choices, default=State.REPORTED,
                             db_index=True)
    # Where: the point (WGS-84) and/or the address; the grid resolved by locate().
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    region = models.ForeignKey("regions.Region", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="cases")
    region_path = models.CharField(max_length=400, blank=True, db_index=True)
    # Who reported: the account that filed it (resident, grid worker, staff, machine client).
    # Personal data (name/phone) is kept encrypted once the registry's field encryption lands;
    # until then only the account and a masked contact are stored, never the raw phone.
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="reported_cases")
    reporter_contact_masked = models.CharField(max_length=40, blank=True)
    # 反映人: the resident who raised the matter when someone else filed it (a grid worker on
    # patrol, the hotline). Linked by the contact number's blind index; she follows and rates it.
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="requested_cases")
    external_id = models.CharField(max_length=80, blank=True, db_index=True)  # hotline order no.
    # "<submitter id>:<client key>", so two clients choosing the same key never meet; the
    # fingerprint of what was submitted tells a retry from a reuse of the key for other content.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    self_handled = models.BooleanField(default=False)  # 自处置
    master = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="merged_cases")
    # What routing suggested at intake: {"lead": dept code, "assisting": [codes]}; empty means
    # no rule matched and the case waits in the dispatcher's queue.
    route = models.JSONField(default=dict, blank=True)
    # The current step's deadline (working time), for the traffic light and escalation.
    step = models.CharField(max_length=12, choices=Step.choices, blank=True)
    step_started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # Past the current step's deadline (set by the escalation worker, cleared by a new step):
    # the command centre's "overdue now" figure reads this flag, not the clock.
    overdue = models.BooleanField(default=False)
    escalated_to = models.ForeignKey("regions.Region", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="escalated_cases")
    pending_request = models.CharField(max_length=12, blank=True)  # extension / suspension
    pending_detail = models.JSONField(default=dict, blank=True)
    # The lead department (主办) now: set by dispatch and whistle, cleared by a return.
    lead_department = models.ForeignKey("accounts.Department", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock: one actor wins
    # The clock's time (see core.clock), so replayed history is dated when it happened.
    created_at = models.DateTimeField(default=clock.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "due_at"], name="case_state_due"),
            models.Index(fields=["category", "created_at"], name="case_category_created"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @classmethod
    def scope_refine(cls, user, base: Q) -> Q:
        """Narrow (or, for residents and machines, replace) the subtree filter for cases.

        Called by ``accounts.scope.scope_q`` only for an active, signed-in user. Department
        handlers see the cases their department is actively assigned, within their subtree;
        residents see what they filed or raised (反映), machine clients what they filed,
        wherever it lies; everyone
        else sees their subtree and, in addition, what they filed themselves (a grid worker
        reporting across the grid boundary still finds the case in "my cases").
        """
        role = getattr(user, "role", None)
        if role == Role.HANDLER:
            if user.department_id is None:
                return Q(pk__in=[])
            assigned = Assignment.objects.filter(department_id=user.department_id, active=True)
            return base & Q(pk__in=assigned.values("case_id"))
        if role == Role.RESIDENT:
            return Q(reporter_id=user.pk) | Q(requester_id=user.pk)
        if role == Role.MACHINE:
            return Q(reporter_id=user.pk)
        if not base:  # an empty Q is "everything"; OR-ing into it would narrow it
            return base
        return base | Q(reporter_id=user.pk)


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("lead (主办)")
    ASSIST = "assist", _("assisting (协办)")


class Assignment(models.Model):
    """A department's part in a case — 派遣/吹哨: lead or assisting, with its report-in."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="assignments")
    role = models.CharField(max_length=8, choices=AssignmentRole.choices)
    via_whistle = models.BooleanField(default=False)
    assigned_at = models.DateTimeField(auto_now_add=True)
    report_in_due_at = models.DateTimeField(null=True, blank=True)
    reported_in_at = models.DateTimeField(null=True, blank=True)
    contribution = models.TextField(blank=True)
    active = models.BooleanField(default=True)  # false once returned or replaced
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)  # why it ended (the return's reason, a void …)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], condition=models.Q(active=True),
                                    name="one_active_assignment_per_department"),
        ]

    def __str__(self) -> str:
        return f"{self.case.code} → {self.department} ({self.role})"


class CaseEvent(models.Model):
    """One line of a case's timeline — 流转记录: who did what, when, against which deadline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24)
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=20, blank=True)
    department = models.ForeignKey("accounts.Department", null=True, blank=True,
                                   on_delete=models.SET_NULL)
    # The case's lead department after this event: figures count a flow against the acting
    # department, or failing that against this one.
    lead_department = models.ForeignKey("accounts.Department", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)
    step = models.CharField(max_length=12, blank=True)  # the step this action ended
    step_due_at = models.DateTimeField(null=True, blank=True)
    step_elapsed_ratio = models.FloatField(null=True, blank=True)  # 1.0 = exactly on the limit

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class Photo(models.Model):
    """Evidence photo — 照片, stored outside the web root, served only to those who see the case.

    A photo may be uploaded before its case exists (a grid worker's on-the-spot evidence is
    taken first, then the report is filed): until attached it is visible to its uploader only.
    """

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="photos")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="photos")
    stored_name = models.CharField(max_length=80, unique=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    exif_lon = models.FloatField(null=True, blank=True)
    exif_lat = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stored_name

    @property
    def thumb_name(self) -> str:
        return f"{self.stored_name.rsplit('.', 1)[0]}_thumb.jpg"


class CaseCounter(models.Model):
    """Per-day sequence behind case codes (WG + yyyymmdd + 6 digits), taken under a row lock."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class RoutingRule(models.Model):
    """Category × region → lead department (+ assisting) — 派遣规则; most specific wins."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routing_rules")
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE,
                               related_name="routing_rules")
    lead = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                             related_name="lead_rules")
    assisting = models.ManyToManyField("accounts.Department", blank=True,
                                       related_name="assist_rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "region"],
                                               name="one_rule_per_category_region")]

    def __str__(self) -> str:
        return f"{self.category} @ {self.region} → {self.lead}"


class DeadlineRule(models.Model):
    """How long a step may take for a category and urgency — 处置时限 (working hours)."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="deadline_rules")  # null = the default
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    step = models.CharField(max_length=12, choices=Step.choices)
    working_hours = models.DecimalField(max_digits=7, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "urgency", "step"],
                                               name="one_deadline_per_category_urgency_step")]

    def __str__(self) -> str:
        return f"{self.category or '*'} {self.urgency} {self.step}: {self.working_hours} h"

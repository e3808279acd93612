"""The data catalogue — 公共数据资源目录 — and what flows through it.

- ``Dataset`` (数据资源): a department's list of records, its standard fields, sharing class,
  update frequency, retention and trust (for survivorship in the registry).
- ``AccessRequest`` (共享申请): a department asks the owner for a dataset, for a purpose; an
  approved request is the grant, until it expires or is revoked. ``AccessLog`` keeps every
  read made under a grant.
- ``CollectionForm`` / ``FormTarget`` (采集表): a department asks grids for fields; what the
  registry already holds is pre-filled and not asked (减负).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SharingClass(models.TextChoices):
    """The national catalogue's three sharing classes (共享类型)."""

    UNCONDITIONAL = "unconditional", _("shared without conditions")  # 无条件共享
    CONDITIONAL = "conditional", _("shared on conditions")  # 有条件共享
    NONE = "none", _("not shared")  # 不予共享


class Frequency(models.TextChoices):
    """How often the owner updates a dataset (更新频率)."""

    REALTIME = "realtime", _("in real time")  # 实时
    DAILY = "daily", _("daily")  # 每日
    WEEKLY = "weekly", _("weekly")  # 每周
    MONTHLY = "monthly", _("monthly")  # 每月
    QUARTERLY = "quarterly", _("quarterly")  # 每季度
    YEARLY = "yearly", _("yearly")  # 每年
    ON_CHANGE = "on_change", _("when it changes")  # 不定期


class Entity(models.TextChoices):
    """What a dataset's rows describe."""

    PERSON = "person", _("persons")  # 人
    HOUSE = "house", _("houses")  # 房
    PLACE = "place", _("places")  # 场所
    ORGANISATION = "organisation", _("organisations")  # 组织


class Dataset(models.Model):
    """A dataset in the catalogue — 数据资源 — owned by one department.

    ``trust`` ranks sources for survivorship (higher wins; recency breaks ties).
    ``flows_down``: published to grids, each grid seeing exactly its own rows (数据下沉).
    ``tag``: rows of this dataset mark their person with this tag (e.g. 独居老人名单).
    """

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="datasets", verbose_name=_("owning department"))
    entity = models.CharField(_("describes"), max_length=16, choices=Entity.choices,
                              default=Entity.PERSON)
    sharing_class = models.CharField(_("sharing class"), max_length=16,
                                     choices=SharingClass.choices,
                                     default=SharingClass.CONDITIONAL)
    sharing_conditions = models.TextField(_("sharing conditions"), blank=True)
    frequency = models.CharField(_("update frequency"), max_length=16,
                                 choices=Frequency.choices, default=Frequency.MONTHLY)
    retention_days = models.PositiveIntegerField(
        _("retention (days)"), null=True, blank=True,
        help_text=_("Records not confirmed by the source for this long are removed; empty "
                    "keeps them while the source lists them."))
    trust = models.PositiveSmallIntegerField(_("trust rank"), default=50)
    flows_down = models.BooleanField(_("published to grids"), default=False)
    tag = models.ForeignKey("registry.TagDefinition", null=True, blank=True,
                            on_delete=models.PROTECT, related_name="datasets",
                            verbose_name=_("tag given to its persons"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__code", "code"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def field_codes(self) -> list[str]:
        return [f.field_code for f in self.fields.all()]


class DatasetField(models.Model):
    """One standard field a dataset carries (``catalog.fields``)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="fields")
    field_code = models.CharField(_("standard field"), max_length=40)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dataset", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "field_code"],
                                               name="dataset_field_once")]

    def __str__(self) -> str:
        return f"{self.dataset.code}.{self.field_code}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("pending")  # 待审批
    APPROVED = "approved", _("approved")  # 已批准
    REFUSED = "refused", _("refused")  # 已拒绝
    REVOKED = "revoked", _("revoked")  # 已撤销
    WITHDRAWN = "withdrawn", _("withdrawn")  # 已撤回


class AccessRequest(models.Model):
    """A department's request to use a dataset for a purpose — 共享申请; approved, the grant.

    A grant is live while ``status`` is approved and ``expires_at`` is in the future; it
    covers ``fields`` (standard field codes; empty means every field of the dataset).
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT,
                                related_name="access_requests")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="access_requests",
                                   verbose_name=_("requesting department"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="access_requests")
    purpose = models.TextField(_("purpose"))
    fields = models.JSONField(_("fields"), default=list, blank=True)
    days = models.PositiveIntegerField(_("days asked for"), default=90)
    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices,
                              default=RequestStatus.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")

    def __str__(self) -> str:
        return f"{self.department} → {self.dataset.code} ({self.status})"

    def is_live(self, at=None) -> bool:
        at = at or timezone.now()
        return (self.status == RequestStatus.APPROVED and self.expires_at is not None
                and self.expires_at > at)


class AccessLog(models.Model):
    """One read of a dataset's rows by another department — 共享访问日志."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="access_logs")
    grant = models.ForeignKey(AccessRequest, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="access_logs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    department = models.ForeignKey("accounts.Department", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)  # page | api | export
    token_prefix = models.CharField(max_length=12, blank=True)
    rows = models.PositiveIntegerField(default=0)
    query = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.dataset_id} by {self.user_id} at {self.at:%Y-%m-%d %H:%M}"


class FormStatus(models.TextChoices):
    DRAFT = "draft", _("draft")  # 草稿
    ISSUED = "issued", _("issued")  # 已下发
    CLOSED = "closed", _("closed")  # 已结束


class CollectionForm(models.Model):
    """A department's form sent to grids — 采集表 — built from catalogue fields.

    Targets are the persons of ``target_tag`` (or of ``target_dataset``) within ``region``.
    Answers are written once into the registry as records of ``dataset`` (the department's
    own collection dataset), so they carry provenance like any other source.
    """

    name = models.CharField(_("name"), max_length=120)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="collection_forms")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT,
                                related_name="collection_forms",
                                verbose_name=_("dataset the answers go to"))
    fields = models.JSONField(_("fields"), default=list)
    # The grid matter it is sent under (网格事项准入清单): issuing checks it is admitted.
    matter = models.ForeignKey("gridwork.MatterItem", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="collection_forms",
                               verbose_name=_("matter item"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("area"))
    target_tag = models.ForeignKey("registry.TagDefinition", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    target_dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(max_length=8, choices=FormStatus.choices,
                              default=FormStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    # Filled when issued: {"targets": n, "fields_total": n, "prefilled": n, "asked": n}.
    burden = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("collection form")
        verbose_name_plural = _("collection forms")

    def __str__(self) -> str:
        return self.name


class FormTarget(models.Model):
    """One person a form asks about, in one grid: what was pre-filled, what is asked."""

    scope_path_field = "region_path"

    form = models.ForeignKey(CollectionForm, on_delete=models.CASCADE, related_name="targets")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=400, db_index=True)
    # field code → {"dataset": code, "observed_at": iso, "display": masked text}
    prefilled = models.JSONField(default=dict, blank=True)
    asked = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["region_path", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "person"],
                                               name="form_target_once")]

    def __str__(self) -> str:
        return f"{self.form_id}:{self.person_id}"

"""The registry — 实有人口、房屋、场所、组织: base data kept once, placed in grids.

Every record sits in one grid; ``region_path`` copies the grid's path so the usual scoping
(``scope_path_field``) shows it to exactly the accounts whose subtree holds that grid.

- ``Person`` (实有人口) is the master record of one person. Its values are not typed in: they
  are chosen from the ``SourceRecord`` rows linked to it (survivorship: the most trusted
  dataset, then the most recent), and each source row keeps what it said and when — the
  provenance a person card shows.
- ``Household`` (户), ``Building`` (楼栋), ``House`` (房屋: 自住/出租/空置), ``Place`` (场所),
  ``Organisation`` (企业、社会组织).
- ``TagDefinition`` / ``PersonTag`` (标签): department-owned labels such as 独居老人 or 社区矫正,
  visible only to the roles that hold them for a stated purpose.
- ``LinkDecision``, ``ReviewItem``, ``LinkRun``: linkage (数据融合) of source rows to persons.
- ``ImportSource``, ``ImportRun``: department imports with saved column mappings.
- ``ErasureRequest``: deletion or anonymisation as a workflow (删除/匿名化).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.privacy.fields import ProtectedField

from . import access


class PlaceKind(models.TextChoices):
    """The kinds of key place a grid keeps an eye on (重点场所类别)."""

    SCHOOL = "school", _("school")  # 学校
    HOSPITAL = "hospital", _("hospital")  # 医院
    HAZARDOUS_CHEMICALS = "hazchem", _("hazardous chemicals site")  # 危化品场所
    MARKET = "market", _("market")  # 农贸市场、商场
    ELDERLY_CARE = "elderly_care", _("elderly care home")  # 养老机构
    CONSTRUCTION_SITE = "construction", _("construction site")  # 建筑工地
    SHOP = "shop", _("shop")  # 商铺
    RESTAURANT = "restaurant", _("restaurant")  # 餐饮
    HOTEL = "hotel", _("hotel")  # 旅馆
    INTERNET_CAFE = "internet_cafe", _("internet café")  # 网吧
    WAREHOUSE = "warehouse", _("warehouse")  # 仓库
    OTHER = "other", _("other place")  # 其他


class Place(models.Model):
    """A key place — 场所: where it is (WGS-84), what it is and which grid it lies in."""

    scope_path_field = "region_path"

    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=120)
    lon = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="places",
                               verbose_name=_("grid"))
    region_path = models.CharField(max_length=400, db_index=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    organisation = models.ForeignKey("registry.Organisation", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="places",
                                     verbose_name=_("organisation"))
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region_path", "kind", "name"]
        verbose_name = _("key place")
        verbose_name_plural = _("key places")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args, **kwargs) -> None:
        # The path follows the grid: one source of truth for where the place is scoped.
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class InGrid(models.Model):
    """What every registry record shares: a grid and its path, for scoping."""

    scope_path_field = "region_path"

    region = models.ForeignKey("regions.Region", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("grid"))
    region_path = models.CharField(max_length=400, db_index=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path if self.region_id else ""
        super().save(*args, **kwargs)


class Building(InGrid):
    """A building — 楼栋: a street address (not personal data), a point, floors."""

    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=200, db_index=True)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)

    class Meta:
        ordering = ["region_path", "address"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.address or self.name

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_area_records(user, base)

class HouseUsage(models.TextChoices):
    OWNER_OCCUPIED = "owner_occupied", _("owner-occupied")  # 自住
    RENTED = "rented", _("rented")  # 出租屋
    VACANT = "vacant", _("vacant")  # 空置


class House(InGrid):
    """A dwelling — 房屋 — in a building: how it is used and by how many tenants."""

    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="houses")
    label = models.CharField(_("unit and room"), max_length=60)  # e.g. 2单元301
    usage = models.CharField(_("use"), max_length=16, choices=HouseUsage.choices,
                             default=HouseUsage.OWNER_OCCUPIED)
    area_m2 = models.FloatField(_("floor area (m²)"), null=True, blank=True)
    tenant_count = models.PositiveSmallIntegerField(_("tenants"), null=True, blank=True)

    class Meta:
        ordering = ["region_path", "building_id", "label"]
        verbose_name = _("house")
        verbose_name_plural = _("houses")

    def __str__(self) -> str:
        return f"{self.building or ''}{self.label}"

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_area_records(user, base)

class Household(InGrid):
    """A household — 户 — living in one house."""

    number = models.CharField(_("household number"), max_length=40, db_index=True)
    house = models.ForeignKey(House, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="households")

    class Meta:
        ordering = ["region_path", "number"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.number

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_area_records(user, base)

class ResidenceType(models.TextChoices):
    """实有人口的类别."""

    REGISTERED = "registered", _("registered resident")  # 户籍人口
    FLOATING = "floating", _("floating resident")  # 流动人口
    FOREIGN = "foreign", _("foreign resident")  # 境外人员


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    ANONYMISED = "anonymised", _("anonymised")  # 已匿名化


class Person(InGrid):
    """A person — 实有人口 — the master record the linked source rows describe.

    Protected values (name, ID number, phone, exact address) are sealed, indexed and masked
    (``ProtectedField``); ``values`` holds the other standard fields as chosen by
    survivorship, each as ``{field: value}`` with its provenance in ``chosen``.
    """

    name = ProtectedField("name", _("full name"))
    id_number = ProtectedField("id_number", _("ID number"))
    phone = ProtectedField("phone", _("phone"))
    address = ProtectedField("address", _("current address"))
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=8, blank=True)
    residence_type = models.CharField(_("residence type"), max_length=16,
                                      choices=ResidenceType.choices, blank=True)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="members")
    house = models.ForeignKey(House, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="residents")
    values = models.JSONField(default=dict, blank=True)
    # field → {"record": source record id, "dataset": code, "observed_at": iso}
    chosen = models.JSONField(default=dict, blank=True)
    # Fields whose sources disagree (the steward's conflicts list, 数据冲突).
    conflict_fields = models.JSONField(default=list, blank=True)
    has_conflicts = models.BooleanField(default=False, db_index=True)
    status = models.CharField(max_length=12, choices=PersonStatus.choices,
                              default=PersonStatus.ACTIVE, db_index=True)

    class Meta:
        ordering = ["region_path", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_persons(user, base)

class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("enterprise")  # 企业
    SOCIAL = "social", _("social organisation")  # 社会组织
    INSTITUTION = "institution", _("public institution")  # 机关事业单位
    INDIVIDUAL = "individual", _("individual business")  # 个体工商户


class Organisation(InGrid):
    """An organisation — 企业、社会组织 — with its unified social credit code."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganisationKind.choices,
                            default=OrganisationKind.ENTERPRISE)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True,
                                   db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)

    class Meta:
        ordering = ["region_path", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_area_records(user, base)

class TagCategory(models.TextChoices):
    CARE = "care", _("care")  # 关爱对象
    KEY_MANAGEMENT = "key", _("key management")  # 重点管理对象
    SERVICE = "service", _("service")  # 服务对象
    OTHER = "other", _("other")


class TagDefinition(models.Model):
    """A tag — 标签 — owned by a department and held by some roles for a purpose.

    Visible to the owning department's accounts and to accounts whose role is in ``holders``
    (within their subtree, as always); to nobody else — not even that a person carries it.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    category = models.CharField(_("category"), max_length=8, choices=TagCategory.choices)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT,
                                   related_name="tags", verbose_name=_("owning department"))
    holders = models.JSONField(_("roles that hold it"), default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    visit_interval_days = models.PositiveSmallIntegerField(_("visit every (days)"), null=True,
                                                           blank=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class PersonTag(models.Model):
    """A tag on a person, from a source (a dataset) or a named account, since a day."""

    scope_path_field = "region_path"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tags")
    tag = models.ForeignKey(TagDefinition, on_delete=models.PROTECT, related_name="persons")
    region_path = models.CharField(max_length=400, db_index=True, blank=True)
    dataset = models.ForeignKey("catalog.Dataset", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    since = models.DateField(_("since"), default=timezone.localdate)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["tag__code"]
        constraints = [models.UniqueConstraint(fields=["person", "tag"],
                                               name="person_tag_once")]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.tag_id}"

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_person_tags(user, base)

class SourceRecord(InGrid):
    """One row of a department's dataset — 来源记录 — as last imported.

    ``payload_cipher`` seals the row's clean values (a JSON object of standard fields);
    ``masked`` holds what pages show; the blind indexes find rows by ID number, phone or
    name. ``row_hash`` (of the clean values) makes re-importing an unchanged row a no-op.
    ``person`` is the master record linkage put it in.
    """

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT,
                                related_name="records")
    key = models.CharField(_("source key"), max_length=80)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="sources")
    row_hash = models.CharField(max_length=64)
    payload_cipher = models.TextField(blank=True, default="")
    masked = models.JSONField(default=dict, blank=True)
    # Plain b-tree indexes (Meta): blind indexes are matched exactly, never by LIKE, so the
    # extra pattern index PostgreSQL adds for db_index would only slow imports down.
    id_number_index = models.CharField(max_length=64, blank=True)
    phone_index = models.CharField(max_length=64, blank=True)
    name_index = models.CharField(max_length=64, blank=True)
    observed_at = models.DateTimeField(_("as of"), default=timezone.now)
    import_run = models.ForeignKey("registry.ImportRun", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="records")

    # The sealed row is re-sealed by ``rotate-key`` but never revealed whole (kind "record").
    protected_fields = {"payload": "record"}

    class Meta:
        ordering = ["dataset_id", "key"]
        constraints = [models.UniqueConstraint(fields=["dataset", "key"],
                                               name="source_record_key_once")]
        indexes = [models.Index(fields=["person"], name="source_record_person"),
                   models.Index(fields=["id_number_index"], name="source_record_id_index"),
                   models.Index(fields=["phone_index"], name="source_record_phone_index"),
                   models.Index(fields=["name_index"], name="source_record_name_index")]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.key}"

    @property
    def record_id(self) -> str:
        """The id linkage knows this row by."""
        return f"r{self.pk}"

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_source_records(user, base)

class Verdict(models.TextChoices):
    SAME = "same", _("same person")  # 合并
    APART = "apart", _("different persons")  # 拆分


class LinkDecision(models.Model):
    """A steward's decision on two source rows — merge or keep apart; revoking restores."""

    record_a = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    reason = models.CharField(_("reason"), max_length=200)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.record_a_id}~{self.record_b_id}: {self.verdict}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("to review")  # 待确认
    DECIDED = "decided", _("decided")  # 已处理
    STALE = "stale", _("no longer proposed")  # 已失效


class ReviewItem(models.Model):
    """A pair the model is unsure about, waiting for a steward — 待人工确认."""

    record_a = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    agreement = models.JSONField(default=dict)
    held_back = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=ReviewStatus.choices,
                              default=ReviewStatus.OPEN, db_index=True)
    decision = models.ForeignKey(LinkDecision, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-probability"]
        constraints = [models.UniqueConstraint(fields=["record_a", "record_b"],
                                               name="review_pair_once")]

    def __str__(self) -> str:
        return f"{self.record_a_id}~{self.record_b_id} ({self.probability:.2f})"


class LinkRun(models.Model):
    """One linkage pass over every source row — 融合批次: what it found and how long."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, default="running")  # running | done | failed
    records = models.PositiveIntegerField(default=0)
    persons = models.PositiveIntegerField(default=0)
    created_persons = models.PositiveIntegerField(default=0)
    review = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"link run {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class ImportSource(models.Model):
    """Where a department's files come from, with the column mapping saved — 导入来源."""

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT,
                                related_name="import_sources")
    name = models.CharField(_("name"), max_length=80)
    # file header → standard field code ("" for a column to ignore)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    key_field = models.CharField(_("key column"), max_length=80, blank=True,
                                 help_text=_("The file's column that identifies a row; "
                                             "empty: the ID number."))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset_id", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"],
                                               name="import_source_name_once")]

    def __str__(self) -> str:
        return f"{self.dataset.code}/{self.name}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")  # 排队中
    RUNNING = "running", _("running")  # 导入中
    DONE = "done", _("done")  # 已完成
    REFUSED = "refused", _("refused: bad rows")  # 有错误行，未导入
    FAILED = "failed", _("failed")  # 失败


class ImportRun(models.Model):
    """One file imported into a dataset — 导入批次: progress, counts and the row report."""

    source = models.ForeignKey(ImportSource, on_delete=models.PROTECT, related_name="runs")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    stored_path = models.CharField(max_length=400, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)  # [{"row", "field", "column", "message"}]
    problem_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class ErasureKind(models.TextChoices):
    ANONYMISE = "anonymise", _("anonymise")  # 匿名化
    DELETE = "delete", _("delete")  # 删除


class ErasureStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("carried out")
    REFUSED = "refused", _("refused")


class ErasureRequest(models.Model):
    """A request to delete or anonymise a person's data — 删除/匿名化申请 — decided by a
    data steward; carrying it out is one transaction, audited."""

    scope_path_field = "region_path"

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="erasure_requests")
    region_path = models.CharField(max_length=400, db_index=True, blank=True)
    kind = models.CharField(max_length=10, choices=ErasureKind.choices,
                            default=ErasureKind.ANONYMISE)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ErasureStatus.choices,
                              default=ErasureStatus.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.person_id} ({self.status})"

    @classmethod
    def scope_refine(cls, user, base):
        return access.refine_erasure_requests(user, base)


class FactSubject(models.TextChoices):
    HOUSEHOLD = "household", _("household")
    BUILDING = "building", _("building")
    PLACE = "place", _("key place")
    GRID = "grid", _("grid")


class Fact(models.Model):
    """A value observed on the ground for a household, building, place or grid — 采集结果.

    Written once by the work that observed it (a campaign's or inspection's target), read by
    every department that may see the subject: the latest fact per (subject, field) is what
    the registry shows, with who observed it, when and for which task. Append-only.
    """

    scope_path_field = "region_path"

    subject_kind = models.CharField(max_length=12, choices=FactSubject.choices)
    subject_id = models.BigIntegerField()
    field = models.CharField(max_length=60)
    value = models.JSONField()
    region_path = models.CharField(max_length=400, db_index=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    observed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("accounts.Department", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=80)  # e.g. "gridwork.target:123"

    class Meta:
        ordering = ["-observed_at", "-pk"]
        indexes = [models.Index(fields=["subject_kind", "subject_id", "field", "observed_at"],
                                name="fact_subject_field")]

    def __str__(self) -> str:
        return f"{self.subject_kind}:{self.subject_id}:{self.field}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("facts are append-only")
        super().save(*args, **kwargs)

"""The catalogue — 数据目录: datasets, their standard fields, who manages them.

Every staff account reads the metadata of active datasets (fields, owner, sharing class …),
never rows (those are ``rows``'). A steward manages his own department's datasets, an
administrator any (``save_dataset``, ``set_published``: publish to grids, 数据下沉); each
change is audited with what changed (``changes``, one line per attribute), and saving what
is already there writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from wangge.accounts.permissions import has_permission
from wangge.accounts.roles import Role
from wangge.audit.services import record
from wangge.privacy.errors import InvalidValue
from wangge.registry.models import TagDefinition

from .fields import StandardField, get_field, standard_fields
from .models import Dataset, DatasetField, Entity, Frequency, SharingClass
from .service import Conflict, Forbidden, Invalid, NotFound, audit_actor, require

CODE_MAX = 60
NAME_MAX = 120
TRUST_MAX = 100
RESERVED_CODES = frozenset({"new"})  # taken by the catalogue's own pages


# -- the catalogue ---------------------------------------------------------------------------


def managed_q(user) -> Q:
    """The datasets ``user`` may manage: an administrator any, a steward his department's."""
    if not has_permission(user, "catalog.manage"):
        return Q(pk__in=[])
    if user.role == Role.ADMIN:
        return Q()
    if user.department_id is None:
        return Q(pk__in=[])
    return Q(department_id=user.department_id)


def can_manage(user, dataset: Dataset) -> bool:
    return Dataset.objects.filter(managed_q(user), pk=dataset.pk).exists()


@dataclass(frozen=True)
class CatalogueFilter:
    """What the catalogue page was asked for (each empty: no filter)."""

    department: str = ""  # department code
    sharing_class: str = ""
    entity: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> CatalogueFilter:
        def pick(name: str, allowed: Iterable[str] | None = None) -> str:
            value = (params.get(name) or "").strip()[:120]
            return value if allowed is None or value in allowed else ""

        return cls(department=pick("department"),
                   sharing_class=pick("sharing_class", SharingClass.values),
                   entity=pick("entity", Entity.values), q=pick("q"))


def catalogue(user, filters: CatalogueFilter | None = None) -> QuerySet[Dataset]:
    """The datasets the catalogue shows ``user``: active ones, and the inactive ones she
    manages (metadata only: rows are ``rows.read``'s)."""
    require(user, "catalog.view")
    qs = _listed(user)
    f = filters or CatalogueFilter()
    if f.department:
        qs = qs.filter(department__code=f.department)
    if f.sharing_class:
        qs = qs.filter(sharing_class=f.sharing_class)
    if f.entity:
        qs = qs.filter(entity=f.entity)
    if f.q:
        qs = qs.filter(Q(name__icontains=f.q) | Q(code__icontains=f.q)
                       | Q(description__icontains=f.q) | Q(department__name__icontains=f.q))
    return qs.order_by("department__code", "code")


def _listed(user) -> QuerySet[Dataset]:
    return Dataset.objects.filter(Q(is_active=True) | managed_q(user)).select_related(
        "department", "tag")


def get_dataset(user, code: str, *, permission: str = "catalog.view", token=None) -> Dataset:
    """One dataset of the catalogue, for a user holding ``permission`` (a machine client
    reading rows holds "catalog.read" without "catalog.view"); one she may not see is a
    ``NotFound``."""
    require(user, permission, token)
    found = _listed(user).filter(code=code).first()
    if found is None:
        raise NotFound(_("No dataset with code %(code)s.") % {"code": code[:CODE_MAX]})
    return found


# What a standard field's ``kind`` is called on pages (protected kinds by their privacy kind).
KIND_LABELS = {"text": _lazy("text"), "date": _lazy("date"), "choice": _lazy("choice"),
               "int": _lazy("whole number"), "float": _lazy("number"),
               "protected:name": _lazy("name (protected)"),
               "protected:id_number": _lazy("ID number (protected)"),
               "protected:phone": _lazy("phone (protected)"),
               "protected:address": _lazy("address (protected)")}


def kind_label(spec: StandardField) -> str:
    return str(KIND_LABELS.get(spec.kind, spec.kind))


def entity_label(code: str) -> str:
    """What a field describes, in words: a dataset entity, or a subject of observed facts
    (household, building, grid — fields grid work collects, ``registry.FactSubject``)."""
    from wangge.registry.models import FactSubject

    if code == "any":
        return str(_("any"))
    if code in Entity.values:
        return str(Entity(code).label)
    return str(FactSubject(code).label) if code in FactSubject.values else code


def field_rows(specs: Iterable[StandardField]) -> list[dict]:
    """Standard fields as the pages list them: the spec, what it describes, its kind."""
    return [{"spec": s, "entity": entity_label(s.entity), "kind": kind_label(s)}
            for s in specs]


def field_specs(dataset: Dataset) -> list[dict]:
    """The dataset's fields with their standard definitions (``spec`` None: a retired
    code), as ``{"field", "spec", "kind"}``."""
    known = standard_fields()
    out = []
    for f in dataset.fields.all():
        spec = known.get(f.field_code)
        out.append({"field": f, "spec": spec, "kind": kind_label(spec) if spec else ""})
    return out


# -- managing a dataset -------------------------------------------------------------------

# The attributes a dataset's form edits, in the order "what changed" lists them.
EDITABLE = ("code", "name", "description", "department", "entity", "sharing_class",
            "sharing_conditions", "frequency", "retention_days", "trust", "is_active",
            "flows_down", "tag")


def snapshot(dataset: Dataset) -> dict[str, str]:
    """The dataset as text per attribute, its fields as ``code*`` (required) in order."""
    out = {}
    for name in EDITABLE:
        value = getattr(dataset, name, None)
        out[name] = "" if value is None else (value.code if hasattr(value, "code") else
                                              str(value))
    if dataset.pk:
        out["fields"] = ", ".join(f"{f.field_code}{'*' if f.required else ''}"
                                  for f in dataset.fields.all())
    else:
        out["fields"] = ""
    return out


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What changed, one line per attribute (``name: old → new``), for the audit trail."""
    return [f"{k}: {before.get(k, '') or '—'} → {after.get(k, '') or '—'}"
            for k in after if before.get(k, "") != after.get(k, "")]


@dataclass
class DatasetInput:
    """What a manager typed for a dataset; ``fields`` are (standard code, required)."""

    code: str
    name: str
    department_id: int | None
    entity: str = Entity.PERSON
    sharing_class: str = SharingClass.CONDITIONAL
    sharing_conditions: str = ""
    description: str = ""
    frequency: str = Frequency.MONTHLY
    retention_days: int | None = None
    trust: int = 50
    is_active: bool = True
    fields: list[tuple[str, bool]] = field(default_factory=list)


def _check_fields(entity: str, fields: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    if not fields:
        raise Invalid(_("A dataset carries at least one standard field."), field="fields")
    seen = set()
    for code, _required in fields:
        if code in seen:
            raise Invalid(_("Field %(code)s is listed twice.") % {"code": code}, field="fields")
        seen.add(code)
        try:
            spec = get_field(code)
        except InvalidValue as exc:
            raise Invalid(str(exc), field="fields") from None
        if spec.entity not in (entity, "any"):
            raise Invalid(_("%(label)s (%(code)s) describes %(its)s, not %(entity)s.") % {
                "label": spec.label, "code": code, "its": entity_label(spec.entity),
                "entity": Entity(entity).label}, field="fields")
    return fields


def _check_input(user, data: DatasetInput, dataset: Dataset | None) -> DatasetInput:
    code = (data.code or "").strip()
    if dataset is None:
        if (not code or slugify(code) != code or len(code) > CODE_MAX
                or code in RESERVED_CODES):
            raise Invalid(_("The code is lowercase letters, digits and dashes (at most %(n)d)"
                            ", e.g. mz-elderly-alone.") % {"n": CODE_MAX}, field="code")
    else:
        code = dataset.code  # the code is how grants, imports and links name it: fixed
    name = (data.name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise Invalid(_("Give the dataset a name (at most %(n)d characters).")
                      % {"n": NAME_MAX}, field="name")
    if user.role != Role.ADMIN:
        # A steward keeps his datasets in his own department.
        data.department_id = dataset.department_id if dataset else user.department_id
    if data.department_id is None:
        raise Invalid(_("Choose the owning department."), field="department")
    for attr, choices in (("entity", Entity), ("sharing_class", SharingClass),
                          ("frequency", Frequency)):
        if getattr(data, attr) not in choices.values:
            raise Invalid(_("%(value)s is not one of the choices.")
                          % {"value": getattr(data, attr)}, field=attr)
    conditions = (data.sharing_conditions or "").strip()
    if data.sharing_class == SharingClass.CONDITIONAL and not conditions:
        raise Invalid(_("Say on which conditions the dataset is shared."),
                      field="sharing_conditions")
    if data.retention_days is not None and not 1 <= data.retention_days <= 36500:
        raise Invalid(_("Retention is between 1 and 36500 days, or empty."),
                      field="retention_days")
    if not 0 <= data.trust <= TRUST_MAX:
        raise Invalid(_("Trust is between 0 and %(n)d.") % {"n": TRUST_MAX}, field="trust")
    data.code, data.name, data.sharing_conditions = code, name, conditions
    data.description = (data.description or "").strip()
    data.fields = _check_fields(data.entity, list(data.fields))
    return data


def save_dataset(user, dataset: Dataset | None, data: DatasetInput) -> Dataset:
    """Create (``dataset`` None) or change a dataset and its fields; audited with what
    changed. Saving what is already there changes nothing and writes nothing."""
    require(user, "catalog.manage")
    if dataset is not None and not can_manage(user, dataset):
        raise NotFound(_("No dataset with code %(code)s.") % {"code": dataset.code})
    if dataset is None and user.role != Role.ADMIN and user.department_id is None:
        raise Forbidden(_("Your account belongs to no department: it has no datasets."))
    data = _check_input(user, data, dataset)
    with transaction.atomic():
        if dataset is None:
            if Dataset.objects.filter(code=data.code).exists():
                raise Conflict(_("A dataset with code %(code)s exists already.")
                               % {"code": data.code}, field="code")
            target = Dataset(code=data.code)
            before: dict[str, str] = {}
        else:
            target = Dataset.objects.select_for_update().get(pk=dataset.pk)
            before = snapshot(target)
        for attr in ("name", "description", "department_id", "entity", "sharing_class",
                     "sharing_conditions", "frequency", "retention_days", "trust",
                     "is_active"):
            setattr(target, attr, getattr(data, attr))
        if target.tag_id and target.entity != Entity.PERSON:
            target.tag = None  # only persons carry tags
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError:
            raise Conflict(_("A dataset with code %(code)s exists already.")
                           % {"code": data.code}, field="code") from None
        _set_fields(target, data.fields)
        after = snapshot(target)
        diff = changes(before, after)
        if diff:
            record("catalog.dataset.create" if dataset is None else "catalog.dataset.update",
                   target, actor=audit_actor(user), detail={"changes": diff})
    return target


def _set_fields(dataset: Dataset, fields: list[tuple[str, bool]]) -> None:
    """Make the dataset's fields exactly ``fields`` (in that order)."""
    existing = {f.field_code: f for f in dataset.fields.all()}
    wanted = [code for code, _r in fields]
    DatasetField.objects.filter(dataset=dataset).exclude(field_code__in=wanted).delete()
    for position, (code, required) in enumerate(fields):
        row = existing.get(code)
        if row is None:
            DatasetField.objects.create(dataset=dataset, field_code=code, required=required,
                                        position=position)
        elif row.required != required or row.position != position:
            row.required, row.position = required, position
            row.save(update_fields=["required", "position"])


def publish_tags(dataset: Dataset) -> QuerySet[TagDefinition]:
    """The tags a dataset may give its persons: its own department's."""
    return TagDefinition.objects.filter(department_id=dataset.department_id)


def set_published(user, dataset: Dataset, *, flows_down: bool,
                  tag: TagDefinition | None) -> Dataset:
    """Publish a dataset to grids (数据下沉) or take it back, and the tag its persons get;
    audited with what changed, nothing written when nothing changes."""
    require(user, "catalog.manage")
    if not can_manage(user, dataset):
        raise NotFound(_("No dataset with code %(code)s.") % {"code": dataset.code})
    with transaction.atomic():
        target = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if tag is not None and tag.department_id != target.department_id:
            raise Invalid(_("The tag %(tag)s belongs to another department.")
                          % {"tag": tag.name}, field="tag")
        if tag is not None and target.entity != Entity.PERSON:
            raise Invalid(_("Only a dataset of persons gives a tag."), field="tag")
        if flows_down and not target.is_active:
            raise Conflict(_("An inactive dataset cannot be published to grids."),
                           field="flows_down")
        before = snapshot(target)
        target.flows_down, target.tag = flows_down, tag
        diff = changes(before, snapshot(target))
        if diff:
            target.save(update_fields=["flows_down", "tag", "updated_at"])
            record("catalog.dataset.publish", target, actor=audit_actor(user),
                   detail={"changes": diff})
    return target

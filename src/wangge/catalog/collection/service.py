"""Collection forms — 采集表: a department builds one, previews it and issues it to grids.

Who: holders of "catalog.forms" (department handlers and data stewards), for their own
department's forms only; another department's form answers 404, like a form that does not
exist. A form names the dataset its answers go to (the department's own), the standard person
fields it asks, an area within the builder's subtree and its targets — the persons carrying a
tag the builder can see, or held by a dataset she can read — and a due date. It is sent under
an admitted item of the department's on the grid matters list (网格事项准入清单) and asks only
fields that item collects; without one it is refused, and issuing checks the item again.

Issuing (下发) is one transaction: a ``FormTarget`` per person, pre-filled with what the
registry holds and still valid, asking the rest (``prefill.plan``); the burden figures on the
form; an audit record. A field held and valid for every target is refused with a pointer to
its dataset, and a form with no targets is refused: nothing is written either way.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.catalog.models import CollectionForm, Dataset, Entity, FormStatus, FormTarget
from wangge.gridwork.models import ON_LIST, MatterItem
from wangge.gridwork.service import NotAdmitted, require_admitted
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q
from wangge.registry.access import readable_datasets_q, visible_tags_q
from wangge.registry.models import Person, PersonStatus, PersonTag, SourceRecord, TagDefinition

from . import prefill
from .errors import FormError

MANAGE = "catalog.forms"
NAME_MAX = 120
# What an edit of a draft may change, for the audit record's "what changed".
EDITABLE = ("name", "matter_id", "dataset_id", "fields", "region_id", "target_tag_id",
            "target_dataset_id", "due_on")


@dataclass(frozen=True)
class FormSpec:
    """A form as the builder typed it: codes, not objects (pages and API alike)."""

    name: str
    dataset: str
    fields: list[str] = field(default_factory=list)
    region: str = ""
    target_tag: str = ""
    target_dataset: str = ""
    due_on: datetime.date | None = None
    # The admitted grid matter (网格事项) the form is sent under: the gate of 多网合一.
    matter: int | None = None


def audit_actor(user) -> Actor:
    """The acting user, keeping the request's address when the request already names her."""
    current = current_actor()
    return current if current.user_id == user.pk else Actor.for_user(user)


def _department_id(user) -> int:
    if getattr(user, "department_id", None) is None:
        raise FormError(_("Your account belongs to no department: forms are a department's."),
                        status=403)
    return user.department_id


def manageable_forms(user, token=None) -> QuerySet[CollectionForm]:
    """The forms of the user's own department, newest first."""
    require_permission(user, MANAGE, token)
    return CollectionForm.objects.filter(department_id=_department_id(user)).select_related(
        "dataset", "region", "target_tag", "target_dataset", "department")


def get_manageable(user, pk: int, token=None, *, lock: bool = False) -> CollectionForm:
    """One form of the user's department; any other answers 404 like a missing one."""
    qs = manageable_forms(user, token)
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=pk)
    except CollectionForm.DoesNotExist:
        raise Http404 from None


# -- choices a builder has ----------------------------------------------------------------


def own_datasets(user) -> QuerySet[Dataset]:
    """Datasets answers may go to: the user's department's active person datasets."""
    return Dataset.objects.filter(department_id=getattr(user, "department_id", None),
                                  is_active=True, entity=Entity.PERSON)


def target_tags(user) -> QuerySet[TagDefinition]:
    return TagDefinition.objects.filter(visible_tags_q(user)).order_by("category", "code")


def target_datasets(user) -> QuerySet[Dataset]:
    return Dataset.objects.filter(readable_datasets_q(user), entity=Entity.PERSON).select_related(
        "department")


def areas(user) -> QuerySet[Region]:
    return visible_to(Region, user)


# -- building -----------------------------------------------------------------------------


def _check_fields(codes: list[str], errors: dict[str, str]) -> list[str]:
    allowed = prefill.person_field_codes()
    wrong = [c for c in codes if c not in allowed]
    if wrong:
        errors["fields"] = _("%(codes)s: not a standard person field") % {
            "codes": "、".join(w[:40] for w in wrong)}
    elif not codes:
        errors["fields"] = _("Choose at least one field to ask.")
    chosen = set(codes)
    return [c for c in allowed if c in chosen]


def admitted_items(user) -> QuerySet[MatterItem]:
    """The user's department's items on the grid matters list: what a form may be sent
    under."""
    return MatterItem.objects.filter(department_id=getattr(user, "department_id", None),
                                     status__in=ON_LIST).order_by("name")


def _check_matter(user, spec: FormSpec, fields: list[str], today: datetime.date,
                  errors: dict[str, str]) -> MatterItem | None:
    """The gate: the form must be sent under an admitted item of the user's department,
    and ask only fields that item collects."""
    try:
        item = require_admitted(spec.matter, getattr(user, "department_id", None), on=today)
    except NotAdmitted as exc:
        errors["matter"] = exc.messages[0]
        return None
    outside = [c for c in fields if c not in item.fields]
    if outside:
        errors["fields"] = _("%(codes)s: not among the fields the matter item %(item)s "
                             "collects; apply to change the item or leave them out.") % {
            "codes": "、".join(outside), "item": item.name}
    return item


def resolve(user, spec: FormSpec, *, today: datetime.date | None = None) -> dict:
    """The model values of ``spec``, or ``FormError`` naming every input that is wrong."""
    errors: dict[str, str] = {}
    name = (spec.name or "").strip()
    if not name:
        errors["name"] = _("Give the form a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("at most %(max)d characters, not %(n)d") % {"max": NAME_MAX,
                                                                       "n": len(name)}
    dataset = own_datasets(user).filter(code=spec.dataset or "").first()
    if dataset is None:
        errors["dataset"] = _("%(code)s is not an active person dataset of your department; "
                              "answers go to one of your own.") % {"code": spec.dataset or "—"}
    fields = _check_fields(list(spec.fields or []), errors)
    region = areas(user).filter(code=spec.region or "").first()
    if region is None:
        errors["region"] = _("%(code)s is not an area within your scope.") % {
            "code": spec.region or "—"}
    tag = target_dataset = None
    if bool(spec.target_tag) == bool(spec.target_dataset):
        errors["target"] = _("Choose whom to ask: the persons carrying a tag, or those a "
                             "dataset holds (one of the two).")
    elif spec.target_tag:
        tag = target_tags(user).filter(code=spec.target_tag).first()
        if tag is None:
            errors["target_tag"] = _("%(code)s is not a tag you can see.") % {
                "code": spec.target_tag}
    else:
        target_dataset = target_datasets(user).filter(code=spec.target_dataset).first()
        if target_dataset is None:
            errors["target_dataset"] = _("%(code)s is not a person dataset you can read.") % {
                "code": spec.target_dataset}
    today = today or timezone.localdate()
    matter = _check_matter(user, spec, fields, today, errors)
    if spec.due_on is None:
        errors["due_on"] = _("Give a due date.")
    elif spec.due_on < today:
        errors["due_on"] = _("The due date %(date)s is in the past.") % {
            "date": spec.due_on.isoformat()}
    if errors:
        raise FormError(_("The form cannot be saved: %(problems)s")
                        % {"problems": " ".join(errors.values())}, errors=errors)
    return {"name": name, "matter": matter, "dataset": dataset, "fields": fields,
            "region": region,
            "target_tag": tag, "target_dataset": target_dataset, "due_on": spec.due_on}


def create_form(user, spec: FormSpec, token=None) -> CollectionForm:
    """A draft form of the user's department (草稿), audited."""
    require_permission(user, MANAGE, token)
    department_id = _department_id(user)
    values = resolve(user, spec)
    with transaction.atomic():
        form = CollectionForm.objects.create(department_id=department_id, created_by=user,
                                             **values)
        record("catalog.form.create", form, actor=audit_actor(user),
               detail={"name": form.name, "matter": form.matter_id, "fields": form.fields,
                       "dataset": form.dataset.code,
                       "region": form.region.code, "due_on": form.due_on.isoformat()})
    return form


def update_form(user, pk: int, spec: FormSpec, token=None) -> CollectionForm:
    """Change a draft; an issued or closed form stays as it was issued."""
    require_permission(user, MANAGE, token)
    with transaction.atomic():
        form = get_manageable(user, pk, token, lock=True)
        if form.status != FormStatus.DRAFT:
            raise FormError(_("Only a draft can be changed; this form was issued on %(date)s.")
                            % {"date": _issued_on(form)}, status=409)
        values = resolve(user, spec)
        before = {k: getattr(form, k) for k in EDITABLE}
        for key, value in values.items():
            setattr(form, key, value)
        changes = {k: [_plain(before[k]), _plain(getattr(form, k))] for k in EDITABLE
                   if before[k] != getattr(form, k)}
        if changes:
            form.save()
            record("catalog.form.update", form, actor=audit_actor(user),
                   detail={"changes": changes})
    return form


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def _issued_on(form: CollectionForm) -> str:
    return timezone.localdate(form.issued_at).isoformat() if form.issued_at else "—"


# -- targets and issuing -------------------------------------------------------------------


def target_persons(user, form: CollectionForm) -> QuerySet[Person]:
    """The persons a form asks about: carrying its tag (one the user can see) or held by its
    dataset (one the user can read), placed in a grid within its area, not anonymised."""
    persons = visible_to(Person, user).filter(
        subtree_q(form.region.path, "region_path"), region__isnull=False,
        status=PersonStatus.ACTIVE)
    if form.target_tag_id:
        tagged = visible_to(PersonTag, user).filter(tag_id=form.target_tag_id)
        return persons.filter(pk__in=tagged.values("person_id"))
    held = visible_to(SourceRecord, user).filter(dataset_id=form.target_dataset_id,
                                                 person__isnull=False)
    return persons.filter(pk__in=held.values("person_id"))


def _who(form: CollectionForm) -> str:
    return form.target_tag.name if form.target_tag_id else form.target_dataset.name


def preview(user, form: CollectionForm) -> prefill.Plan:
    """What issuing ``form`` now would pre-fill, ask and refuse — nothing is written."""
    persons = list(target_persons(user, form).select_related("region"))
    return prefill.plan(persons, form.fields)


def refusal_for(form: CollectionForm, result: prefill.Plan) -> FormError | None:
    """Why ``result`` cannot be issued (no targets, fields already held), or None."""
    if not result.targets:
        return FormError(_("Nobody to ask: no person in %(area)s is among %(who)s that you can "
                           "see. Choose another area or other persons.")
                         % {"area": form.region.name, "who": _who(form)}, status=422,
                         field="target")
    if result.pointers:
        return FormError(" ".join(p["message"] for p in result.pointers)
                         + " " + _("Remove these fields from the form."), status=409,
                         field="fields", pointers=result.pointers)
    return None


@dataclass
class Issued:
    form: CollectionForm
    plan: prefill.Plan | None  # None when the form was already issued (a retry)
    already: bool = False


def issue_form(user, pk: int, token=None) -> Issued:
    """Issue a draft to its grids (下发), or refuse with the reason; retries are no-ops."""
    require_permission(user, MANAGE, token)
    with transaction.atomic():
        form = get_manageable(user, pk, token, lock=True)
        if form.status == FormStatus.ISSUED:
            return Issued(form=form, plan=None, already=True)
        if form.status == FormStatus.CLOSED:
            raise FormError(_("This form is closed."), status=409)
        if not form.dataset.is_active or form.dataset.department_id != form.department_id:
            raise FormError(_("The dataset the answers go to is no longer an active dataset "
                              "of your department: choose another."), status=409,
                            field="dataset")
        try:  # the item may have left the list since the draft was saved
            require_admitted(form.matter_id, form.department_id)
        except NotAdmitted as exc:
            raise FormError(exc.messages[0], status=409, field="matter") from None
        result = preview(user, form)
        refusal = refusal_for(form, result)
        if refusal is not None:
            raise refusal
        FormTarget.objects.bulk_create(
            [FormTarget(form=form, person=t.person, region=t.person.region,
                        region_path=t.person.region.path, prefilled=t.prefilled,
                        asked=t.asked) for t in result.targets], batch_size=1000)
        form.status = FormStatus.ISSUED
        form.issued_at = timezone.now()
        form.burden = result.burden
        form.save(update_fields=["status", "issued_at", "burden"])
        record("catalog.form.issue", form, actor=audit_actor(user),
               detail={"burden": form.burden, "fields": form.fields})
    return Issued(form=form, plan=result)


def close_form(user, pk: int, token=None) -> CollectionForm:
    """Stop collecting (已结束): open targets can no longer be answered. A retry is a no-op."""
    require_permission(user, MANAGE, token)
    with transaction.atomic():
        form = get_manageable(user, pk, token, lock=True)
        if form.status == FormStatus.CLOSED:
            return form
        if form.status != FormStatus.ISSUED:
            raise FormError(_("Only an issued form can be closed; a draft can simply be left "
                              "unissued."), status=409)
        form.status = FormStatus.CLOSED
        form.save(update_fields=["status"])
        open_count = form.targets.filter(answered_at__isnull=True).count()
        record("catalog.form.close", form, actor=audit_actor(user),
               detail={"unanswered": open_count})
    return form

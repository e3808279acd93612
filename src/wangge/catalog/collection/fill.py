"""Filling a form in the grid — 网格采集: the to-do list and one answer per target person.

Who: holders of "catalog.fill" (grid workers, community / street staff), for the targets in
their subtree (a grid worker: his grid) of issued forms. A target shows what was pre-filled
(masked, read-only, with source and date) and asks only the rest.

An answer is checked field by field (``catalog.fields.clean_value``; errors name the field),
refused for a pre-filled field (409, naming it and its source), then written in one
transaction: ONE source row of the form's dataset (key ``form<form>-p<person>``, sealed like
any import), the target marked answered, the person's master record refreshed (so the next
form pre-fills the value), an audit record.

Retries: the same idempotency key (``Idempotency-Key`` header or the page's hidden key) from
the same user with the same values returns the first answer and writes nothing. An answered
target is changed only by an explicit edit (``edit=True``: the page's "Edit answer"); an edit
leaving a field empty keeps its previous value. A plain second answer is refused (409).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import visible_to
from wangge.audit.services import record
from wangge.catalog.fields import clean_value, display_value, get_field
from wangge.catalog.models import Dataset, FormStatus, FormTarget
from wangge.privacy.errors import InvalidValue
from wangge.registry import records
from wangge.registry.models import Person, PersonStatus, SourceRecord
from wangge.registry.survivorship import refresh_person

from .errors import FormError
from .prefill import local_day
from .service import audit_actor

FILL = "catalog.fill"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,80}$")


def record_key(target: FormTarget) -> str:
    """The source key of a target's answer in the form's dataset: one row per person."""
    return f"form{target.form_id}-p{target.person_id}"


def todo(user, token=None) -> QuerySet[FormTarget]:
    """The targets of issued forms in the user's subtree: open ones first, earliest due."""
    require_permission(user, FILL, token)
    return (visible_to(FormTarget, user).filter(form__status=FormStatus.ISSUED)
            .select_related("form", "form__department", "person", "region")
            .order_by(F("answered_at").asc(nulls_first=True),
                      F("form__due_on").asc(nulls_last=True), "region_path", "id"))


def get_target(user, pk: int, token=None) -> FormTarget:
    """One target in the user's subtree (of an issued or closed form), else 404."""
    require_permission(user, FILL, token)
    qs = visible_to(FormTarget, user).exclude(form__status=FormStatus.DRAFT).select_related(
        "form", "form__department", "form__dataset", "person", "region", "answered_by")
    try:
        return qs.get(pk=pk)
    except FormTarget.DoesNotExist:
        raise Http404 from None


def sources_of(targets) -> dict[str, Dataset]:
    """The datasets the targets' pre-filled values came from, by code (names for pages)."""
    codes = {p.get("dataset", "") for t in targets for p in t.prefilled.values()}
    return {d.code: d for d in Dataset.objects.filter(code__in=codes)
            .select_related("department")}


def answer_record(target: FormTarget) -> SourceRecord | None:
    return SourceRecord.objects.filter(dataset_id=target.form.dataset_id,
                                       key=record_key(target)).first()


def answer_display(target: FormTarget, row: SourceRecord | None) -> dict[str, str]:
    """The answered values as pages and the API show them: masked, choices labelled."""
    if row is None:
        return {}
    out = {}
    for code in target.asked:
        value = str(row.masked.get(code, ""))
        out[code] = value if get_field(code).protected_kind else display_value(code, value)
    return out


@dataclass
class Answer:
    """The outcome of a submit: the target, its answer (masked) and what happened."""

    target: FormTarget
    values: dict[str, str]
    created: bool = False
    replayed: bool = False
    edited: bool = False


def _check_key(key: str | None) -> str:
    key = (key or "").strip()
    if key and not KEY_PATTERN.match(key):
        raise FormError(_("Idempotency key: up to 80 letters, digits, '.', '_', ':' or '-'."),
                        status=422, field="idempotency_key")
    return key


def _locked_target(user, pk: int) -> FormTarget:
    qs = (visible_to(FormTarget, user).exclude(form__status=FormStatus.DRAFT)
          .select_for_update(of=("self",))
          .select_related("form", "form__dataset", "person", "region", "answered_by"))
    try:
        return qs.get(pk=pk)
    except FormTarget.DoesNotExist:
        raise Http404 from None


def _refuse_prefilled(target: FormTarget, raw: Mapping[str, object]) -> None:
    """A value for a pre-filled field is refused (409), naming the field and its source."""
    given = [c for c in target.form.fields if c in target.prefilled and _text(raw.get(c))]
    if not given:
        return
    sources = sources_of([target])
    parts = []
    for code in given:
        known = target.prefilled[code]
        dataset = sources.get(known.get("dataset", ""))
        parts.append(_("%(field)s is already known — source %(dataset)s (%(department)s), as "
                       "of %(date)s — and is not asked here.")
                     % {"field": get_field(code).label,
                        "dataset": dataset.name if dataset else known.get("dataset", ""),
                        "department": dataset.department.name if dataset else "",
                        "date": local_day(known.get("observed_at") or "") or "—"})
    raise FormError(" ".join(parts), status=409, field=given[0],
                    errors={c: p for c, p in zip(given, parts, strict=True)})


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def clean_answer(target: FormTarget, raw: Mapping[str, object], *,
                 previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """The clean values of the asked fields, or ``FormError`` naming every field at fault.

    With ``previous`` (an edit) an empty field keeps its previous value; otherwise every
    asked field needs a value.
    """
    _refuse_prefilled(target, raw)
    errors: dict[str, str] = {}
    for code in raw:
        if code not in target.form.fields:
            errors[str(code)[:40]] = _("%(code)s is not a field of this form") % {
                "code": str(code)[:40]}
    clean: dict[str, str] = {}
    for code in target.asked:
        label = get_field(code).label
        try:
            value = clean_value(code, raw.get(code))
        except InvalidValue as exc:
            errors[code] = f"{label}: {exc}"
            continue
        if not value and previous is not None:
            value = previous.get(code, "")
        if not value:
            errors[code] = _("%(field)s: a value is needed") % {"field": label}
            continue
        clean[code] = value
    if errors:
        raise FormError("; ".join(errors.values()), status=422, field=next(iter(errors)),
                        errors=errors)
    return clean


def _replay(target: FormTarget, raw: Mapping[str, object]) -> Answer:
    """The same key again: the first answer when the values agree, else a 409."""
    row = answer_record(target)
    stored = records.open_values(row) if row is not None else {}
    try:
        given = {code: clean_value(code, raw.get(code)) for code in target.asked}
    except InvalidValue:
        given = None
    if given is None or any(v and stored.get(c) != v for c, v in given.items()):
        raise FormError(_("This idempotency key was already used for a different answer to "
                          "this person."), status=409, field="idempotency_key")
    return Answer(target=target, values=answer_display(target, row), replayed=True)


def submit_answer(user, pk: int, raw: Mapping[str, object], *, key: str | None = None,
                  edit: bool = False, token=None) -> Answer:
    """Answer one target (or, with ``edit``, change its answer); see the module docstring."""
    require_permission(user, FILL, token)
    key = _check_key(key)
    with transaction.atomic():
        target = _locked_target(user, pk)
        if target.form.status != FormStatus.ISSUED:
            raise FormError(_("This form is closed: answers are no longer taken."), status=409)
        answered = target.answered_at is not None
        if answered and key and key == target.idempotency_key \
                and target.answered_by_id == user.pk:
            return _replay(target, raw)
        if answered and not edit:
            who = target.answered_by.label if target.answered_by else "—"
            raise FormError(_("Already answered by %(who)s on %(date)s. Choose “Edit answer” "
                              "to change it.")
                            % {"who": who,
                               "date": timezone.localtime(target.answered_at)
                               .strftime("%Y-%m-%d %H:%M")}, status=409)
        person = Person.objects.select_for_update().get(pk=target.person_id)
        if person.status != PersonStatus.ACTIVE:
            raise FormError(_("This person's data was anonymised: nothing more is collected."),
                            status=409)
        row = answer_record(target) if answered else None
        previous = records.open_values(row) if row is not None else None
        clean = clean_answer(target, raw, previous=previous)
        row = _write_row(target, clean, row)
        refresh_person(person)
        now = timezone.now()
        target.answered_at = now
        target.answered_by = user
        target.idempotency_key = key
        target.save(update_fields=["answered_at", "answered_by", "idempotency_key"])
        record("catalog.form.answer_edit" if answered else "catalog.form.answer", target,
               actor=audit_actor(user),
               detail={"form": target.form_id, "person": target.person_id,
                       "record": row.pk, "fields": sorted(clean)})
    return Answer(target=target, values=answer_display(target, row), created=not answered,
                  edited=answered)


def _write_row(target: FormTarget, clean: dict[str, str],
               row: SourceRecord | None) -> SourceRecord:
    """The target's one source row in the form's dataset, sealed, as of now."""
    if row is None:
        row = (SourceRecord.objects.select_for_update()
               .filter(dataset_id=target.form.dataset_id, key=record_key(target)).first()
               or SourceRecord(dataset_id=target.form.dataset_id, key=record_key(target)))
    row.region = target.region
    row.person_id = target.person_id
    row.observed_at = timezone.now()
    records.apply(row, records.seal(clean))
    row.save()
    return row

"""A resident's own data — 个人信息查阅与导出: what the platform holds about her.

The match (``own_persons``): a person record is hers when its phone is the phone on her
account — both are kept as the same keyed blind index (``User.phone_index`` and
``Person.phone_index``), so neither number is ever compared in clear. The page says so: a
record whose phone is not hers (an old number, a relative's) does not appear, and she can ask
the community to correct it.

What she sees (``own_records``): each matching person, masked, and for each source row the
dataset and its department, since when the platform has held it and as of when the source
confirmed it, the row's values masked. Labels departments keep for their work (tags) are not
listed. Anonymised records have no phone any more and so never match.

The export (``export_own_data``) is her own data, so it carries her clear values — the master
record's and each source row's — with their provenance; it is audited
(``registry.own_export``, counts only) before a value leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from wangge.accounts.permissions import require_permission
from wangge.audit.services import record
from wangge.catalog.fields import display_value, get_field
from wangge.privacy import kinds

from . import records
from .models import Person, PersonStatus, SourceRecord

PERMISSION = "registry.own_data"
MATCH = "phone"  # how a record is found to be hers (said on the page and in the export)
EXPORT_FORMAT = "wangge.own-data/1"


def own_persons(user) -> QuerySet[Person]:
    """The active person records whose phone is the phone of ``user``'s account."""
    index = getattr(user, "phone_index", "") or ""
    if not index or not getattr(user, "is_authenticated", False):
        return Person.objects.none()
    return Person.objects.filter(phone_index=index, status=PersonStatus.ACTIVE)


@dataclass
class OwnSource:
    """One source row about her: who holds it, since and as of when, its masked values."""

    dataset: str
    department: str
    held_since: object
    observed_at: object
    values: list[tuple[str, str]]  # (field label, masked value)


@dataclass
class OwnRecord:
    person: Person
    grid: str
    held_since: object
    sources: list[OwnSource] = field(default_factory=list)


def _labelled(masked: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for code, value in masked.items():
        try:
            spec = get_field(code)
        except ValueError:
            continue  # a field the catalogue no longer declares: shown nowhere
        out.append((spec.label, value if spec.protected_kind else display_value(code, value)))
    return out


def _sources(persons: list[Person]) -> dict[int, list[SourceRecord]]:
    by_person: dict[int, list[SourceRecord]] = {p.pk: [] for p in persons}
    rows = (SourceRecord.objects.filter(person_id__in=list(by_person))
            .select_related("dataset__department").order_by("created_at", "pk"))
    for row in rows:
        by_person[row.person_id].append(row)
    return by_person


def own_records(user) -> list[OwnRecord]:
    """Her records for the page, masked."""
    require_permission(user, PERMISSION)
    persons = list(own_persons(user).select_related("region"))
    rows = _sources(persons)
    out = []
    for person in persons:
        sources = [OwnSource(r.dataset.name, r.dataset.department.name, r.created_at,
                             r.observed_at, _labelled(r.masked)) for r in rows[person.pk]]
        since = min([person.created_at, *(s.held_since for s in sources)])
        out.append(OwnRecord(person, person.region.name if person.region else "", since,
                             sources))
    return out


def _clear_person(person: Person) -> dict[str, object]:
    values: dict[str, object] = {
        name: kinds.open_cipher(kind, getattr(person, f"{name}_cipher"))
        for name, kind in Person.protected_fields.items()}
    values.update(person.values)
    values.update({"birth_year": person.birth_year, "sex": person.sex,
                   "residence_type": person.residence_type})
    return {k: v for k, v in values.items() if v not in ("", None)}


def export_own_data(user) -> dict:
    """Everything held about her, in clear, with provenance; audited before it leaves."""
    require_permission(user, PERMISSION)
    persons = list(own_persons(user).select_related("region"))
    rows = _sources(persons)
    payload = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "account": user.get_username(),
        "matched_by": MATCH,
        "persons": [{
            "id": p.pk,
            "grid": p.region.name if p.region else "",
            "held_since": p.created_at.isoformat(),
            "values": _clear_person(p),
            "chosen_from": p.chosen,
            "sources": [{
                "dataset": r.dataset.code,
                "dataset_name": r.dataset.name,
                "department": r.dataset.department.name,
                "held_since": r.created_at.isoformat(),
                "observed_at": r.observed_at.isoformat(),
                "values": records.open_values(r),
            } for r in rows[p.pk]],
        } for p in persons],
    }
    with transaction.atomic():
        record("registry.own_export", user, detail={
            "persons": len(persons), "source_rows": sum(len(v) for v in rows.values()),
            "matched_by": MATCH})
    return payload

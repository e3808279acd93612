"""Conflicts for the steward — 数据冲突: where sources disagree, and which value won and why.

For each person whose sources disagree (``Person.has_conflicts``) and each field they
disagree on, every source row holding the field is listed with its masked value, dataset,
owning department and "as of" date, and survivorship's verdict on it (``survivorship.choose``
on the rows opened in memory): the value shown won on trust rank or, between equally trusted
datasets, by being more recent; a row losing says why. Clear values never leave this module.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from wangge.catalog.fields import display_value, get_field

from .. import records
from ..models import Person, SourceRecord
from ..survivorship import choose
from . import scope

PAGE_SIZE = 20


@dataclass
class ConflictRow:
    record: int
    dataset: str
    department: str
    observed_at: datetime.datetime
    value: str  # masked
    trust: int
    winner: bool
    why: str


@dataclass
class ConflictField:
    code: str
    label: str
    rows: list[ConflictRow]


@dataclass
class PersonConflicts:
    person: Person
    fields: list[ConflictField] = field(default_factory=list)


def shown(code: str, row: SourceRecord) -> str:
    """A row's value as pages show it: the stored mask, choices by their label."""
    value = (row.masked or {}).get(code, "")
    if not value:
        return "—"
    return value if get_field(code).protected_kind else display_value(code, value)


def _why(row: SourceRecord, best: SourceRecord, same_value: bool) -> str:
    """Survivorship's reason, in the order it decides: trust rank, recency, newest row."""
    if row.pk == best.pk:
        return ""
    if same_value:
        return _("same value as the one shown")
    if row.dataset.trust < best.dataset.trust:
        return _("lower trust rank (%(rank)d < %(best)d)") % {
            "rank": row.dataset.trust, "best": best.dataset.trust}
    if row.observed_at < best.observed_at:
        return _("equally trusted, but older (as of %(date)s)") % {
            "date": row.observed_at.date().isoformat()}
    return _("equally trusted and as recent; the newer record wins")


def _winner_why(best: SourceRecord, losers: list[SourceRecord]) -> str:
    if not losers:
        return _("the only value")
    if all(best.dataset.trust > r.dataset.trust for r in losers):
        return _("highest trust rank (%(rank)d)") % {"rank": best.dataset.trust}
    if all(best.observed_at > r.observed_at for r in losers
           if r.dataset.trust == best.dataset.trust):
        return _("most recent among the most trusted (as of %(date)s)") % {
            "date": best.observed_at.date().isoformat()}
    return _("equally trusted and as recent; the newer record wins")


def person_conflicts(person: Person) -> PersonConflicts:
    """What a steward reads about one person's conflicting fields (masked)."""
    rows = list(SourceRecord.objects.filter(person=person)
                .select_related("dataset__department").order_by("pk"))
    opened = [(r, records.open_values(r)) for r in rows]
    values, chosen, conflict_fields = choose(opened)
    out = PersonConflicts(person=person)
    by_pk = {r.pk: r for r in rows}
    for code in conflict_fields:
        best = by_pk[chosen[code]["record"]]
        holding = [(r, v[code]) for r, v in opened if v.get(code)]
        losers = [r for r, v in holding if v != values[code]]
        listed = []
        for r, value in sorted(holding, key=lambda rv: (rv[0].pk != best.pk,
                                                         -rv[0].dataset.trust,
                                                         -rv[0].observed_at.timestamp())):
            winner = r.pk == best.pk
            listed.append(ConflictRow(
                record=r.pk, dataset=r.dataset.name, department=r.dataset.department.name,
                observed_at=r.observed_at, value=shown(code, r), trust=r.dataset.trust,
                winner=winner,
                why=_winner_why(best, losers) if winner else _why(r, best, value == values[code])))
        out.fields.append(ConflictField(code=code, label=get_field(code).label, rows=listed))
    return out


def conflicts_page(user, page: int = 1) -> tuple[Page, list[PersonConflicts]]:
    """One page of the steward's persons with conflicts, each explained."""
    qs = scope.persons(user).filter(has_conflicts=True).order_by("pk")
    current = Paginator(qs, PAGE_SIZE).get_page(page)
    return current, [person_conflicts(p) for p in current.object_list]


def count(user) -> int:
    return scope.persons(user).filter(has_conflicts=True).count()

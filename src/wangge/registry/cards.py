"""Registry cards — 人、房、楼、场所、组织档案: what is known, from whom, since when.

A person's card lists each field the platform holds with the value shown (masked when
protected) and, under it, every source row holding that field that the reader may see
(``visible_to(SourceRecord, …)``): the dataset, its owning department, the row's value
(masked), as of when it was true (``observed_at``) and since when the platform holds the
row. The row whose value is shown is marked, with why (survivorship: the most trusted
dataset, then the most recent — ``registry.survivorship``), and fields whose sources
disagree are flagged. Rows of datasets the reader may not read are only counted, never
named: which list a person is on can itself be sensitive (社区矫正). A source row's key is
never shown either: when a department keys rows by ID number it is one. Rows read under a
grant that names fields show those fields only (``catalog.service.access_basis``).

House, building, place and organisation cards list what hangs off them, each list through
``visible_to`` like everything else.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission, require_permission
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.catalog.fields import display_value, standard_fields
from wangge.privacy.services import REVEAL_PERMISSION

from . import service
from .facts import fact_rows, latest_facts, latest_for_many
from .models import (
    Building,
    House,
    Household,
    Organisation,
    Person,
    PersonStatus,
    PersonTag,
    Place,
    SourceRecord,
)

EMPLOYEES_SHOWN = 50


@dataclass(frozen=True)
class SourceValue:
    """One source row's value of one field."""

    record_id: int
    dataset: str
    department: str
    value: str
    observed_at: datetime.datetime
    since: datetime.datetime
    trust: int
    chosen: bool
    differs: bool


@dataclass(frozen=True)
class FieldView:
    """One field of a person: the value shown, why it was chosen, every source of it."""

    code: str
    label: str
    value: str
    protected: bool
    revealable: bool
    conflict: bool
    why: str
    sources: list[SourceValue] = field(default_factory=list)


@dataclass(frozen=True)
class TagView:
    id: int
    code: str
    name: str
    category: str
    since: datetime.date
    source: str
    note: str
    removable: bool


@dataclass
class PersonCard:
    person: Person
    fields: list[FieldView]
    records: int
    hidden_records: int
    tags: list[TagView]
    house: House | None
    household: Household | None
    can_reveal: bool
    tag_choices: list = field(default_factory=list)


def _rank(record: SourceRecord) -> tuple:
    """Survivorship's order (``survivorship._rank``): trust, then as of when, then newest."""
    return (record.dataset.trust, record.observed_at, record.pk)


def _shown(code: str, stored: str) -> str:
    """A source row's masked value as a page shows it (choices by their label)."""
    spec = standard_fields().get(code)
    if spec is None or spec.protected_kind:
        return stored
    return display_value(code, stored)


def _master_value(person: Person, code: str, chosen: SourceRecord | None) -> str:
    if code in Person.protected_fields:
        return getattr(person, f"{code}_masked")
    if code in person.values:
        return display_value(code, person.values[code])
    spec = standard_fields()[code]
    if spec.protected_kind and chosen is not None:  # kept on the source row only
        return chosen.readable.get(code, "")
    return ""


def _why(chosen: SourceRecord | None, chosen_elsewhere: bool,
         holding: list[SourceRecord]) -> str:
    """Why the shown value won, said against the next source the reader can see (nothing
    when she sees no source of it: the card says once how many rows she may not read)."""
    if chosen is None:
        return _("from a source you have no access to") if chosen_elsewhere and holding \
            else ""
    others = [r for r in holding if r.pk != chosen.pk]
    if not others:
        return _("the only source here")
    runner_up = others[0]
    if chosen.dataset.trust > runner_up.dataset.trust:
        return _("the most trusted source (trust %(trust)d; next %(next)d)") % {
            "trust": chosen.dataset.trust, "next": runner_up.dataset.trust}
    if chosen.observed_at > runner_up.observed_at:
        return _("as trusted as the next source, and more recent")
    return _("as trusted and as recent as the next source, and stored later")


def _granted_fields(user, visible: list[SourceRecord]) -> dict[int, frozenset[str] | None]:
    """Per dataset, the fields the reader may see of its rows: a grant naming fields shows
    those only (``catalog.service.access_basis``, the one rule); None: every field."""
    from wangge.catalog.service import Basis, CatalogError, access_basis

    out: dict[int, frozenset[str] | None] = {}
    for dataset in {r.dataset_id: r.dataset for r in visible}.values():
        try:
            access = access_basis(user, dataset)
        except CatalogError:
            out[dataset.pk] = frozenset()
            continue
        out[dataset.pk] = frozenset(access.fields) if access.basis == Basis.GRANT else None
    return out


def _readable_values(record: SourceRecord, allowed: frozenset[str] | None) -> dict:
    if allowed is None:
        return record.masked
    return {code: value for code, value in record.masked.items() if code in allowed}


def _field_views(person: Person, visible: list[SourceRecord],
                 granted: dict[int, frozenset[str] | None]) -> list[FieldView]:
    for record in visible:  # what the reader may see of each row, once
        record.readable = _readable_values(record, granted.get(record.dataset_id))
    ranked = sorted(visible, key=_rank, reverse=True)
    present = set(person.chosen) | {code for r in visible for code in r.readable}
    present |= {c for c in Person.protected_fields if getattr(person, f"{c}_masked")}
    out = []
    for code, spec in standard_fields().items():
        if code not in present:
            continue
        holding = [r for r in ranked if r.readable.get(code)]
        chosen_id = (person.chosen.get(code) or {}).get("record")
        chosen = next((r for r in holding if r.pk == chosen_id), None)
        value = _master_value(person, code, chosen)
        sources = [SourceValue(
            record_id=r.pk, dataset=r.dataset.name, department=r.dataset.department.name,
            value=_shown(code, r.readable[code]), observed_at=r.observed_at,
            since=r.created_at, trust=r.dataset.trust, chosen=r.pk == chosen_id,
            differs=bool(value) and _shown(code, r.readable[code]) != value)
            for r in holding]
        out.append(FieldView(
            code=code, label=spec.label, value=value,
            protected=bool(spec.protected_kind),
            revealable=code in Person.protected_fields and bool(value),
            conflict=code in person.conflict_fields,
            why=_why(chosen, chosen_id is not None, holding), sources=sources))
    return out


def _tag_views(user, person: Person) -> list[TagView]:
    may_tag = has_permission(user, service.TAG)
    carried = (visible_to(PersonTag, user).filter(person=person)
               .select_related("tag", "dataset", "added_by")
               .order_by("tag__category", "tag__name"))
    return [TagView(
        id=t.pk, code=t.tag.code, name=t.tag.name, category=str(t.tag.get_category_display()),
        since=t.since,
        source=t.dataset.name if t.dataset else (t.added_by.label if t.added_by else ""),
        note=t.note,
        removable=may_tag and service.can_tag(user, t.tag) and t.dataset_id is None)
        for t in carried]


def _visible_or_none(model, user, pk: int | None):
    if pk is None:
        return None
    return visible_to(model, user).filter(pk=pk).first()


def person_card(user, pk: int, token=None) -> PersonCard:
    """The card of a person ``user`` may see (404 otherwise), masked."""
    require_permission(user, service.VIEW, token)
    person = get_visible_or_404(Person.objects.select_related("region"), user, pk=pk)
    visible = list(visible_to(SourceRecord, user).filter(person=person)
                   .select_related("dataset__department"))
    total = SourceRecord.objects.filter(person=person).count()
    tags = _tag_views(user, person)
    choices = []
    if has_permission(user, service.TAG):
        held = {t.code for t in tags}
        choices = [t for t in service.own_tags(user) if t.code not in held]
    return PersonCard(
        person=person, fields=_field_views(person, visible, _granted_fields(user, visible)),
        records=len(visible),
        hidden_records=total - len(visible), tags=tags,
        house=_visible_or_none(House.objects.select_related("building"), user,
                               person.house_id),
        household=_visible_or_none(Household, user, person.household_id),
        can_reveal=token is None and has_permission(user, REVEAL_PERMISSION),
        tag_choices=choices)


def person_json(card: PersonCard) -> dict:
    """The card for the API: masked values and provenance, no source keys."""
    p = card.person
    return {
        **service.person_row(p, [t.name for t in card.tags]),
        "status": p.status,
        "house_id": card.house.pk if card.house else None,
        "household": card.household.number if card.household else None,
        "records": card.records, "hidden_records": card.hidden_records,
        "conflict_fields": list(p.conflict_fields),
        "fields": [{
            "code": f.code, "label": str(f.label), "value": f.value, "protected": f.protected,
            "conflict": f.conflict, "why": f.why,
            "sources": [{"dataset": s.dataset, "department": s.department, "value": s.value,
                         "observed_at": s.observed_at.isoformat(),
                         "since": s.since.isoformat(), "trust": s.trust, "chosen": s.chosen,
                         "differs": s.differs} for s in f.sources]}
            for f in card.fields],
        "tags": [{"code": t.code, "name": t.name, "category": t.category,
                  "since": t.since.isoformat(), "source": t.source, "note": t.note}
                 for t in card.tags],
    }


def _active_persons(user):
    return visible_to(Person, user).filter(status=PersonStatus.ACTIVE).select_related("region")


def _observed(kind: str, pk: int) -> list[dict]:
    """What grid work observed about the record (采集结果), latest value per field."""
    rows = fact_rows(latest_facts(kind, pk))
    return [{"title": "", "rows": rows}] if rows else []


def house_card(user, pk: int, token=None) -> dict:
    """A house: its building, use, tenants, households and residents (masked)."""
    require_permission(user, service.VIEW, token)
    house = get_visible_or_404(House.objects.select_related("building", "region"), user,
                               pk=pk)
    residents = _active_persons(user).filter(house=house).order_by("pk")
    households = list(visible_to(Household, user).filter(house=house).values_list("pk",
                                                                                   "number"))
    observed = latest_for_many("household", [pk for pk, _number in households])
    return {
        "house": house,
        "row": service.house_rows(user, [house])[0],
        "households": [number for _pk, number in households],
        "observed": [{"title": number, "rows": fact_rows(observed[pk])}
                     for pk, number in households if observed.get(pk)],
        "residents": service.person_rows(user, residents),
        "building_visible": house.building_id is not None and visible_to(Building, user)
        .filter(pk=house.building_id).exists(),
    }


def building_card(user, pk: int, token=None) -> dict:
    """A building: its address and the houses in it."""
    require_permission(user, service.VIEW, token)
    building = get_visible_or_404(Building.objects.select_related("region"), user, pk=pk)
    houses = (visible_to(House, user).filter(building=building).select_related(
        "region", "building").order_by("label", "pk"))
    return {"building": building,
            "row": service.building_rows(user, [building])[0] | {"houses": houses.count()},
            "houses": service.house_rows(user, houses),
            "observed": _observed("building", building.pk)}


def place_card(user, pk: int, token=None) -> dict:
    require_permission(user, service.VIEW, token)
    place = get_visible_or_404(Place.objects.select_related("region", "organisation"), user,
                               pk=pk)
    return {"place": place, "row": service.place_rows(user, [place])[0],
            "observed": _observed("place", place.pk),
            "organisation_visible": _visible_or_none(Organisation, user,
                                                     place.organisation_id) is not None}


def organisation_card(user, pk: int, token=None) -> dict:
    """An organisation: its places and the persons whose employer it is (masked)."""
    require_permission(user, service.VIEW, token)
    org = get_visible_or_404(Organisation.objects.select_related("region"), user, pk=pk)
    places = visible_to(Place, user).filter(organisation=org).select_related(
        "region", "organisation").order_by("name", "pk")
    employees = _active_persons(user).filter(values__employer=org.name).order_by("pk")
    return {"organisation": org, "row": service.organisation_rows(user, [org])[0],
            "places": service.place_rows(user, places),
            "employees": service.person_rows(user, employees[:EMPLOYEES_SHOWN]),
            "employees_more": max(0, employees.count() - EMPLOYEES_SHOWN)}

"""Registry search and tags — 实有人口、房屋、场所、组织的查询与标签.

The pages, the API and the exports all search through ``search``: it checks
``registry.view`` (and the token's ``registry:read``), fetches through ``visible_to`` (the
subtree, then the department rules of ``registry.access``), and narrows by what was asked.
Nothing here filters by region on its own account: a grid filter is a node the user can
see, its subtree taken after the scope rule.

Persons are found by exact values through the blind indexes (name, ID number, phone,
address), by what the masks show (``3701**********211X`` or ``3701`` + ``211X``; ``138****5678``
or ``138`` + ``5678``), by a building's address, by a tag the user may see, by grid and by
residence type. What a search box holds is read by ``read_key``: a typed ID number, mask,
phone or name is told apart by its form (``KEY_FORMS``), unless the user says which it is.

``add_tag`` / ``remove_tag`` put a department's own tag on a person or take it off (标签),
one transaction each, audited.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.audit.services import record
from wangge.catalog.fields import display_value
from wangge.privacy import crypto, kinds
from wangge.privacy.errors import PrivacyError
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q

from .access import visible_tags_q
from .models import (
    Building,
    House,
    HouseUsage,
    Organisation,
    OrganisationKind,
    Person,
    PersonStatus,
    PersonTag,
    Place,
    PlaceKind,
    ResidenceType,
    TagDefinition,
)

VIEW = "registry.view"
TAG = "registry.tag"
PAGE_SIZE = 20
Q_MAX = 100
NOTE_MAX = 200

# What can be searched: the tab's label and the filters it takes.
KINDS: dict[str, tuple] = {
    "persons": (gettext_lazy("Persons"), ("q", "by", "tag", "grid", "residence_type")),
    "houses": (gettext_lazy("Houses"), ("q", "grid", "usage")),
    "buildings": (gettext_lazy("Buildings"), ("q", "grid")),
    "places": (gettext_lazy("Places"), ("q", "grid", "place_kind")),
    "organisations": (gettext_lazy("Organisations"), ("q", "grid", "org_kind")),
}
# What the search box of the persons tab is read as, when the user says.
BY_CHOICES: dict[str, object] = {
    "": gettext_lazy("anything (recognised)"),
    "name": gettext_lazy("full name"),
    "id_number": gettext_lazy("ID number or its mask"),
    "phone": gettext_lazy("phone or its mask"),
    "address": gettext_lazy("address"),
}
CHOICE_FILTERS = {
    "by": BY_CHOICES,
    "residence_type": dict(ResidenceType.choices),
    "usage": dict(HouseUsage.choices),
    "place_kind": dict(PlaceKind.choices),
    "org_kind": dict(OrganisationKind.choices),
}


@dataclass(frozen=True)
class Search:
    """One search as asked: which tab, the text and the filters (empty: not asked)."""

    kind: str = "persons"
    q: str = ""
    by: str = ""
    tag: str = ""
    grid: str = ""
    residence_type: str = ""
    usage: str = ""
    place_kind: str = ""
    org_kind: str = ""

    def params(self) -> dict[str, str]:
        """The non-empty parameters, as a query string would carry them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def query(self) -> str:
        return urlencode(self.params())

    def describe(self) -> dict[str, str]:
        """The search for the audit trail: a typed personal value is kept masked."""
        out = self.params()
        if self.kind == "persons" and self.q:
            key = read_key(self.q, self.by, strict=False)
            out["q"] = key.safe_text() if key else "***"
            if key:
                out["by"] = key.by
        return out


SEALED_PURPOSE = "registry.search"


def needs_sealing(search: Search) -> bool:
    """True when the search holds text that may be a personal value (a persons search)."""
    return search.kind == "persons" and bool(search.q)


def seal_search(search: Search) -> str:
    """The search as an opaque token for a URL (``?s=…``): a typed ID number, phone or name
    stays out of addresses, browser history and access logs, and nothing is stored."""
    return crypto.encrypt(json.dumps(search.params(), ensure_ascii=False), SEALED_PURPOSE)


def open_search(token: str) -> Search:
    """The search a ``seal_search`` token holds; ``ValidationError`` on ``s`` when it cannot
    be read (altered, or sealed under a key since removed)."""
    try:
        params = json.loads(crypto.decrypt(token, SEALED_PURPOSE))
    except (PrivacyError, ValueError):
        raise ValidationError({"s": _("This search link can no longer be read; search "
                                      "again.")}) from None
    return read_search(params)


def read_search(data) -> Search:
    """A ``Search`` from request parameters; ``ValidationError`` names a bad one.

    Filters another tab takes are dropped, so switching tabs keeps only what applies."""
    kind = (data.get("kind") or "persons").strip()
    if kind not in KINDS:
        raise ValidationError({"kind": _("%(kind)s is not one of: %(kinds)s")
                               % {"kind": kind[:20], "kinds": ", ".join(KINDS)}})
    allowed = KINDS[kind][1]
    values = {name: " ".join(str(data.get(name) or "").split()) for name in allowed}
    if len(values.get("q", "")) > Q_MAX:
        raise ValidationError({"q": _("at most %(max)d characters") % {"max": Q_MAX}})
    for name, choices in CHOICE_FILTERS.items():
        if values.get(name) and values[name] not in choices:
            raise ValidationError({name: _("%(value)s is not one of: %(choices)s")
                                   % {"value": values[name][:20],
                                      "choices": ", ".join(c for c in choices if c)}})
    return Search(kind=kind, **values)


# -- what a search box holds ---------------------------------------------------------------

ID_MASK_RE = re.compile(r"(\d{4})(?:\*{10}|[\s*]*)(\d{3}[\dX])")
PHONE_MASK_RE = re.compile(r"(\d{3})(?:(\*+)|\s+)(\d{4})")
ID_FULL_RE = re.compile(r"\d{17}[\dX]|\d{15}")
PHONE_RE = re.compile(r"\+?[\d\s\-]{5,22}")
# Longer than any name we expect: a search text this long is an address.
NAME_MAX_GUESS = 6


@dataclass(frozen=True)
class Key:
    """A search text read as one kind of key: ``by`` is name, id_number, id_mask, phone,
    phone_mask, address or name_or_address (a short text that could be either: 路遥 is a
    name, 阳光花园 an estate); ``parts`` the mask's visible pieces."""

    by: str
    text: str
    parts: tuple[str, ...] = ()

    def safe_text(self) -> str:
        """What may be written down about the key: a mask, never a clear value."""
        if self.by == "id_mask":
            return f"{self.parts[0]}{'*' * 10}{self.parts[1]}"
        if self.by == "phone_mask":
            return f"{self.parts[0]}{'*' * 4}{self.parts[2]}"
        return kinds.mask("name" if self.by == "name_or_address" else self.by, self.text)


def _tidy(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace("＊", "*").strip()


def _id_key(text: str) -> Key | None:
    text = text.upper()
    compact = re.sub(r"[\s\-]", "", text)
    if ID_FULL_RE.fullmatch(compact):
        return Key("id_number", compact)
    match = ID_MASK_RE.fullmatch(text) or ID_MASK_RE.fullmatch(compact)
    return Key("id_mask", text, (match[1], match[2])) if match else None


def _phone_key(text: str) -> Key | None:
    match = PHONE_MASK_RE.fullmatch(text)
    if match:
        return Key("phone_mask", text, (match[1], match[2] or "", match[3]))
    if PHONE_RE.fullmatch(text):
        return Key("phone", text)
    return None


def read_key(raw: str, by: str = "", *, strict: bool = True) -> Key | None:
    """What the text is: an ID number or its mask, a phone or its mask, a name, an address.

    ``by`` says which the user meant ("" to recognise it); a text that cannot be what was
    said raises ``ValidationError`` on ``q`` (or gives None when not ``strict``)."""
    text = _tidy(raw)
    if not text:
        return None
    if by == "name":
        return Key("name", text)
    if by == "address":
        return Key("address", text)
    if by in ("id_number", "phone"):
        key = _id_key(text) if by == "id_number" else _phone_key(text)
        if key is None and strict:
            raise ValidationError({"q": _(
                "Type the whole ID number, or its first 4 and last 4 characters (3701 211X)")
                if by == "id_number" else _(
                "Type the whole phone number, or its first 3 and last 4 digits (138 5678)")})
        return key
    key = _id_key(text) or _phone_key(text)
    if key is not None:
        return key
    if re.search(r"\d", text) or len(text) > NAME_MAX_GUESS:
        return Key("address", text)
    return Key("name_or_address", text)


def _person_key_q(key: Key) -> Q:
    """The persons a key finds: exact values through the blind index, or the masks."""
    if key.by == "name":
        return Person.name.lookup(key.text)
    if key.by == "id_number":
        return Person.id_number.lookup(key.text)
    if key.by == "id_mask":
        return Q(id_number_masked=f"{key.parts[0]}{'*' * 10}{key.parts[1]}")
    if key.by == "phone":
        return Person.phone.lookup(key.text)
    if key.by == "phone_mask":
        head, stars, tail = key.parts
        if stars:
            return Q(phone_masked=f"{head}{stars}{tail}")
        return Q(phone_masked__startswith=head, phone_masked__endswith=tail)
    # An exact address (index), or part of a building's street address or of what the
    # address mask shows (down to the building): neither says more than a page shows.
    address = (Person.address.lookup(key.text) | Q(house__building__address__icontains=key.text)
               | Q(address_masked__icontains=key.text))
    if key.by == "name_or_address":
        return Person.name.lookup(key.text) | address
    return address


# -- the search -----------------------------------------------------------------------------


AREA_CHOICES_MAX = 500


def area_choices(user) -> list[tuple[str, str]] | None:
    """Grids and communities the user may filter by (code, name), her own subtree's; None
    when there are too many to pick from a list (a city: the page asks for a code)."""
    from wangge.regions.models import Level

    nodes = visible_to(Region, user).filter(level__gte=Level.COMMUNITY).order_by("path")
    choices = list(nodes.values_list("code", "name")[:AREA_CHOICES_MAX + 1])
    return None if len(choices) > AREA_CHOICES_MAX else choices


def tag_choices(user) -> list[TagDefinition]:
    """The tags the user may see (and so filter by)."""
    return list(TagDefinition.objects.filter(visible_tags_q(user)).order_by("category", "name"))


def _area_q(user, code: str) -> Q:
    node = visible_to(Region, user).filter(code=code).first()
    if node is None:
        raise ValidationError({"grid": _("%(code)s is not an area within yours")
                               % {"code": code[:32]}})
    return subtree_q(node.path, "region_path")


def _tag_q(user, code: str) -> Q:
    # A tag the user may not see answers exactly like one that does not exist.
    tag = TagDefinition.objects.filter(visible_tags_q(user), code=code).first()
    if tag is None:
        raise ValidationError({"tag": _("There is no tag “%(code)s” you may use")
                               % {"code": code[:40]}})
    carriers = visible_to(PersonTag, user).filter(tag=tag).values("person_id")
    return Q(pk__in=carriers)


def _text_q(names: tuple[str, ...], text: str) -> Q:
    q = Q()
    for name in names:
        q |= Q(**{f"{name}__icontains": text})
    return q


def _persons(user, s: Search) -> QuerySet:
    qs = visible_to(Person, user).filter(status=PersonStatus.ACTIVE)
    key = read_key(s.q, s.by)
    if key is not None:
        qs = qs.filter(_person_key_q(key))
    if s.tag:
        qs = qs.filter(_tag_q(user, s.tag))
    if s.residence_type:
        qs = qs.filter(residence_type=s.residence_type)
    return qs.select_related("region")


def _houses(user, s: Search) -> QuerySet:
    qs = visible_to(House, user)
    if s.q:
        qs = qs.filter(_text_q(("building__address", "building__name", "label"), s.q))
    if s.usage:
        qs = qs.filter(usage=s.usage)
    return qs.select_related("region", "building")


def _buildings(user, s: Search) -> QuerySet:
    qs = visible_to(Building, user)
    if s.q:
        qs = qs.filter(_text_q(("address", "name"), s.q))
    return qs.select_related("region").annotate(house_count=Count("houses"))


def _places(user, s: Search) -> QuerySet:
    qs = visible_to(Place, user)
    if s.q:
        qs = qs.filter(_text_q(("name", "address"), s.q))
    if s.place_kind:
        qs = qs.filter(kind=s.place_kind)
    return qs.select_related("region", "organisation")


def _organisations(user, s: Search) -> QuerySet:
    qs = visible_to(Organisation, user)
    if s.q:
        qs = qs.filter(_text_q(("name", "address"), s.q) | Q(credit_code=s.q.upper()))
    if s.org_kind:
        qs = qs.filter(kind=s.org_kind)
    return qs.select_related("region")


BUILDERS = {"persons": _persons, "houses": _houses, "buildings": _buildings,
            "places": _places, "organisations": _organisations}


def search(user, s: Search, token=None) -> QuerySet:
    """What ``user`` may see of ``s.kind`` matching ``s``, in a stable order.

    ``PermissionDenied`` without ``registry.view``; ``ValidationError`` naming ``q``,
    ``grid`` or ``tag`` for a text that cannot be read, an area outside the user's or a tag
    she may not see."""
    require_permission(user, VIEW, token)
    qs = BUILDERS[s.kind](user, s)
    if s.grid:
        qs = qs.filter(_area_q(user, s.grid))
    return qs.order_by("region_path", "pk")


def with_kind(s: Search, kind: str) -> Search:
    """The same search on another tab: the area, and the text between the tabs of things
    (a building's address is no personal value; what was typed to find a person may be)."""
    carry = s.kind != "persons" and kind != "persons"
    return replace(Search(kind=kind), q=s.q if carry else "", grid=s.grid)


# -- rows: what a list, the API and an export show of each record --------------------------


def _grid(obj) -> dict:
    region = obj.region
    return {"grid": region.code if region else "", "grid_name": region.name if region else ""}


def _tags_by_person(user, person_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for person_id, name in (visible_to(PersonTag, user).filter(person_id__in=person_ids)
                            .order_by("tag__category", "tag__name")
                            .values_list("person_id", "tag__name")):
        out.setdefault(person_id, []).append(name)
    return out


def person_rows(user, persons) -> list[dict]:
    """Masked summaries of ``persons`` (already fetched through ``search``)."""
    persons = list(persons)
    tags = _tags_by_person(user, [p.pk for p in persons])
    return [person_row(p, tags.get(p.pk, [])) for p in persons]


def person_row(p: Person, tags: list[str]) -> dict:
    """One person's masked summary, with the names of the tags the reader may see."""
    return {
        "id": p.pk, "name": p.name_masked, "id_number": p.id_number_masked,
        "phone": p.phone_masked, "address": p.address_masked,
        "sex": p.sex, "sex_label": display_value("sex", p.sex) if p.sex else "",
        "birth_year": p.birth_year,
        "residence_type": p.residence_type,
        "residence_type_label": str(p.get_residence_type_display()) if p.residence_type else "",
        **_grid(p), "tags": tags, "has_conflicts": p.has_conflicts,
    }


def house_rows(user, houses) -> list[dict]:
    return [{
        "id": h.pk, "building": h.building.address if h.building else "",
        "building_id": h.building_id, "label": h.label, "usage": h.usage,
        "usage_label": str(h.get_usage_display()), "area_m2": h.area_m2,
        "tenant_count": h.tenant_count, **_grid(h),
    } for h in houses]


def building_rows(user, buildings) -> list[dict]:
    return [{
        "id": b.pk, "name": b.name, "address": b.address, "floors": b.floors,
        "houses": getattr(b, "house_count", None), **_grid(b),
    } for b in buildings]


def place_rows(user, places) -> list[dict]:
    return [{
        "id": p.pk, "name": p.name, "kind": p.kind, "kind_label": str(p.get_kind_display()),
        "address": p.address, "organisation": p.organisation.name if p.organisation else "",
        "organisation_id": p.organisation_id, "lon": p.lon, "lat": p.lat, **_grid(p),
    } for p in places]


def organisation_rows(user, organisations) -> list[dict]:
    return [{
        "id": o.pk, "name": o.name, "kind": o.kind, "kind_label": str(o.get_kind_display()),
        "credit_code": o.credit_code, "address": o.address, "employees": o.employees,
        **_grid(o),
    } for o in organisations]


ROWS = {"persons": person_rows, "houses": house_rows, "buildings": building_rows,
        "places": place_rows, "organisations": organisation_rows}


def rows(user, kind: str, objects) -> list[dict]:
    return ROWS[kind](user, objects)


# -- tags on a person ------------------------------------------------------------------------


class TagRefused(Exception):
    """A tag change that cannot be made as asked; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def own_tags(user) -> QuerySet:
    """The tags ``user`` may put on persons: her own department's."""
    if getattr(user, "department_id", None) is None:
        return TagDefinition.objects.none()
    return TagDefinition.objects.filter(department_id=user.department_id)


def can_tag(user, tag: TagDefinition) -> bool:
    return tag.department_id is not None and tag.department_id == getattr(
        user, "department_id", None)


def add_tag(user, person_id: int, tag_code: str, note: str = "") -> tuple[PersonTag, bool]:
    """Put the user's department's tag ``tag_code`` on a person she can see, with a note.

    Returns the person's tag and whether it is new: a tag already there is left as it is
    (a retried form adds nothing twice). 403 for another department's tag, 404 for a person
    out of scope, ``ValidationError`` for a missing tag or a long note."""
    require_permission(user, TAG)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("at most %(max)d characters") % {"max": NOTE_MAX}})
    tag = TagDefinition.objects.filter(code=(tag_code or "").strip()).first()
    if tag is None:
        raise ValidationError({"tag": _("Choose one of your department's tags.")})
    if not can_tag(user, tag):
        raise PermissionDenied("registry.tag: another department's tag")
    with transaction.atomic():
        person = get_visible_or_404(Person.objects.select_for_update(), user, pk=person_id)
        existing = PersonTag.objects.filter(person=person, tag=tag).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                carried = PersonTag.objects.create(person=person, tag=tag, note=note,
                                                   region_path=person.region_path,
                                                   added_by=user)
        except IntegrityError:  # added by someone else a moment ago
            return PersonTag.objects.get(person=person, tag=tag), False
        record("registry.tag_add", person, detail={"tag": tag.code, "noted": bool(note)})
    return carried, True


def remove_tag(user, person_id: int, person_tag_id: int) -> str | None:
    """Take the user's department's tag off a person; returns the tag's name, or None when
    it is not (or no longer) there — a retried removal changes nothing.

    A tag a dataset gave stays while the person is on that list (``TagRefused``, 409)."""
    require_permission(user, TAG)
    with transaction.atomic():
        person = get_visible_or_404(Person.objects.select_for_update(), user, pk=person_id)
        carried = (visible_to(PersonTag, user).filter(person=person, pk=person_tag_id)
                   .select_related("tag", "dataset").first())
        if carried is None:
            return None
        if not can_tag(user, carried.tag):
            raise PermissionDenied("registry.tag: another department's tag")
        if carried.dataset_id is not None:
            raise TagRefused(_("“%(tag)s” comes from the list “%(dataset)s”: it goes when the "
                               "person is taken off that list.")
                             % {"tag": carried.tag.name, "dataset": carried.dataset.name})
        name = carried.tag.name
        record("registry.tag_remove", person, detail={
            "tag": carried.tag.code, "since": carried.since.isoformat(),
            "added_by": carried.added_by_id})
        carried.delete()
    return name

"""What the registry already holds — 已有数据: pre-fill what is known and still valid, ask the rest.

A person's value of a standard field counts as known when the master record shows it
(protected fields: the mask is non-empty; the others: ``person.values``; a protected field
with no column of its own, such as 紧急联系人电话: the chosen source row's mask) and
``person.chosen`` says which dataset gave it and as of when. It is still valid while the
field's ``valid_days`` is None or ``observed_at`` lies within that many days; a stale value is
asked again. Every display here is masked: the clear value never leaves the registry.

``plan`` is pure reading — the build page previews it and ``service.issue_form`` writes it —
so the preview and the issued form cannot disagree.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.catalog.fields import display_value, get_field, standard_fields
from wangge.catalog.models import Dataset
from wangge.registry.models import Person, SourceRecord
from wangge.registry.survivorship import PROTECTED_COLUMNS

# The standard fields a collection form may ask: those that describe a person.
FORM_ENTITY = "person"


def person_field_codes() -> list[str]:
    """Codes of the standard person fields, in the catalogue's order."""
    return [code for code, spec in standard_fields().items() if spec.entity == FORM_ENTITY]


def dataset_url(code: str) -> str:
    """The catalogue page of a dataset: where a department asks for access instead."""
    return f"/catalog/datasets/{code}/"


@dataclass(frozen=True)
class Known:
    """One value the registry holds for a person: masked, with its source and date."""

    code: str
    dataset: str
    observed_at: datetime.datetime | None
    display: str

    def as_prefill(self) -> dict:
        """What a ``FormTarget`` keeps of it (``prefilled[code]``)."""
        return {"dataset": self.dataset, "display": self.display,
                "observed_at": self.observed_at.isoformat() if self.observed_at else ""}


def is_valid(code: str, observed_at: datetime.datetime | None,
             now: datetime.datetime) -> bool:
    """Still valid: the field never expires, or it was observed within ``valid_days``."""
    days = get_field(code).valid_days
    if days is None:
        return True
    return observed_at is not None and now - observed_at <= datetime.timedelta(days=days)


def local_day(iso: str) -> str:
    """The local date (YYYY-MM-DD) of a stored ISO timestamp; "" when there is none."""
    try:
        return timezone.localdate(datetime.datetime.fromisoformat(iso)).isoformat() if iso \
            else ""
    except ValueError:
        return ""


def _observed(chosen: dict) -> datetime.datetime | None:
    text = (chosen or {}).get("observed_at") or ""
    try:
        return datetime.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _display(person: Person, code: str, row_masks: dict[int, dict]) -> str:
    """The masked text of ``person``'s value of ``code`` ("" when it holds none)."""
    if code in PROTECTED_COLUMNS:
        return getattr(person, f"{code}_masked", "") or ""
    if code in (person.values or {}):
        return display_value(code, str(person.values[code]))
    record_id = (person.chosen or {}).get(code, {}).get("record")
    return str(row_masks.get(record_id, {}).get(code, "")) if record_id else ""


def known_values(person: Person, codes: Iterable[str],
                 row_masks: dict[int, dict] | None = None) -> dict[str, Known]:
    """Every value of ``codes`` the registry holds for ``person`` (valid or not)."""
    out = {}
    for code in codes:
        display = _display(person, code, row_masks or {})
        if not display:
            continue
        chosen = (person.chosen or {}).get(code, {})
        out[code] = Known(code=code, dataset=chosen.get("dataset", ""),
                          observed_at=_observed(chosen), display=display)
    return out


def row_masks_for(persons: Sequence[Person], codes: Iterable[str]) -> dict[int, dict]:
    """Masks of the chosen source rows for fields a person has no column or value for."""
    wanted = set()
    for person in persons:
        for code in codes:
            if code in PROTECTED_COLUMNS or code in (person.values or {}):
                continue
            record_id = (person.chosen or {}).get(code, {}).get("record")
            if record_id:
                wanted.add(record_id)
    if not wanted:
        return {}
    return dict(SourceRecord.objects.filter(pk__in=wanted).values_list("pk", "masked"))


@dataclass
class TargetPlan:
    """One person: what will be pre-filled (field → source) and what will be asked."""

    person: Person
    prefilled: dict[str, dict]
    asked: list[str]


@dataclass
class Plan:
    """A form's targets with what each is pre-filled and asked, and the fields to refuse."""

    fields: list[str]
    targets: list[TargetPlan]
    pointers: list[dict] = field(default_factory=list)

    @property
    def burden(self) -> dict[str, int]:
        """Fields pre-filled versus fields asked (减负): the figures a form keeps."""
        prefilled = sum(len(t.prefilled) for t in self.targets)
        asked = sum(len(t.asked) for t in self.targets)
        return {"targets": len(self.targets), "fields_total": len(self.targets) * len(self.fields),
                "prefilled": prefilled, "asked": asked}

    def per_field(self) -> list[dict]:
        """Per field: how many targets have it pre-filled and how many are asked."""
        return [{"field": code, "label": get_field(code).label,
                 "prefilled": sum(code in t.prefilled for t in self.targets),
                 "asked": sum(code in t.asked for t in self.targets)}
                for code in self.fields]


def plan(persons: Sequence[Person], fields: Sequence[str],
         now: datetime.datetime | None = None) -> Plan:
    """What a form of ``fields`` would pre-fill and ask for each of ``persons``."""
    now = now or timezone.now()
    masks = row_masks_for(persons, fields)
    targets = []
    for person in persons:
        known = known_values(person, fields, masks)
        prefilled = {code: k.as_prefill() for code, k in known.items()
                     if is_valid(code, k.observed_at, now)}
        asked = [code for code in fields if code not in prefilled]
        targets.append(TargetPlan(person=person, prefilled=prefilled, asked=asked))
    result = Plan(fields=list(fields), targets=targets)
    result.pointers = pointers(result)
    return result


def pointers(result: Plan) -> list[dict]:
    """The fields already held, still valid, for every target: where that data is.

    Asking grids again for them is refused; the department asks the owner for access to the
    dataset instead.
    """
    if not result.targets:
        return []
    held = [code for code in result.fields
            if all(code in t.prefilled for t in result.targets)]
    if not held:
        return []
    codes = {t.prefilled[code]["dataset"] for code in held for t in result.targets}
    datasets = {d.code: d for d in Dataset.objects.filter(code__in=codes)
                .select_related("department")}
    return [_pointer(code, result, datasets) for code in held]


def _pointer(code: str, result: Plan, datasets: dict[str, Dataset]) -> dict:
    sources = Counter(t.prefilled[code]["dataset"] for t in result.targets)
    main = sources.most_common(1)[0][0]
    dates = [t.prefilled[code]["observed_at"] for t in result.targets
             if t.prefilled[code]["dataset"] == main and t.prefilled[code]["observed_at"]]
    updated = local_day(max(dates)) if dates else ""
    dataset = datasets.get(main)
    name = dataset.name if dataset else main
    department = dataset.department.name if dataset else ""
    count = len(result.targets)
    label = get_field(code).label
    message = ngettext(
        "%(field)s is already held for the %(count)d person — source %(dataset)s "
        "(%(department)s), updated %(date)s: ask for access to that dataset instead",
        "%(field)s is already held for all %(count)d persons — source %(dataset)s "
        "(%(department)s), updated %(date)s: ask for access to that dataset instead",
        count) % {"field": label, "count": count, "dataset": name, "department": department,
                  "date": updated or _("date unknown")}
    return {"field": code, "label": label, "count": count, "dataset": main,
            "dataset_name": name, "department": department, "updated": updated,
            "url": dataset_url(main), "datasets": sorted(sources), "message": message}

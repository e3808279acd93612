"""Observed facts — 采集结果: values seen on the ground, written once, read by every card.

A campaign's or inspection's target writes what the grid worker observed (``record_facts``);
the registry's cards show the latest value of each field (``latest_facts``) with who observed
it, when and for which work. Facts are append-only: a newer observation supersedes an older
one by being newer, so the history stays for whoever needs it (多方利用, 一次采集).

Values are the catalogue's clean values (``catalog.fields.clean_value``); protected fields
(personal data) are never stored here — they belong sealed on the person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Max

from wangge.catalog.fields import display_value, get_field
from wangge.core.clock import now
from wangge.privacy.errors import InvalidValue

from .models import Fact, FactSubject


def record_facts(subject_kind: str, subject_id: int, values: Mapping[str, object], *,
                 region_path: str, by=None, department=None, source: str) -> int:
    """Append one fact per non-empty value of ``values`` ({field code: clean value}) about
    the subject; returns how many were written. Call inside the caller's transaction, so the
    work and what it observed commit together."""
    if subject_kind not in FactSubject.values:
        raise ValueError(f"unknown fact subject {subject_kind!r}")
    at = now()
    rows = []
    for code, value in values.items():
        if value in ("", None):
            continue
        if get_field(code).protected_kind:
            raise ValueError(f"{code} is personal data: it is sealed on the person, "
                             "never kept as a fact")
        rows.append(Fact(subject_kind=subject_kind, subject_id=subject_id, field=code,
                         value=value, region_path=region_path, observed_at=at,
                         observed_by=by, department=department, source=source))
    Fact.objects.bulk_create(rows)
    return len(rows)


def latest_facts(subject_kind: str, subject_id: int) -> dict[str, Fact]:
    """The newest fact of each field about the subject, by field code (catalogue order)."""
    facts = (Fact.objects.filter(subject_kind=subject_kind, subject_id=subject_id)
             .select_related("observed_by", "department")
             .order_by("field", "-observed_at", "-pk"))
    out: dict[str, Fact] = {}
    for fact in facts:
        out.setdefault(fact.field, fact)
    return out


def latest_for_many(subject_kind: str, subject_ids: Iterable[int]) -> dict[int, dict[str, Fact]]:
    """``latest_facts`` for several subjects in two queries (a house's households)."""
    ids = list(subject_ids)
    if not ids:
        return {}
    newest = (Fact.objects.filter(subject_kind=subject_kind, subject_id__in=ids)
              .values("subject_id", "field").annotate(at=Max("observed_at")))
    wanted = {(r["subject_id"], r["field"], r["at"]) for r in newest}
    out: dict[int, dict[str, Fact]] = {}
    rows = (Fact.objects.filter(subject_kind=subject_kind, subject_id__in=ids)
            .select_related("observed_by", "department").order_by("-pk"))
    for fact in rows:
        if (fact.subject_id, fact.field, fact.observed_at) in wanted:
            out.setdefault(fact.subject_id, {}).setdefault(fact.field, fact)
    return out


def fact_rows(facts: Mapping[str, Fact]) -> list[dict]:
    """What a card shows of facts: the field's label, the value as a person reads it, when,
    by whom and from which department."""
    rows = []
    for code, fact in facts.items():
        try:
            spec = get_field(code)
        except InvalidValue:  # a field retired from the catalogue: show its code
            label, shown = code, str(fact.value)
        else:
            label, shown = spec.label, display_value(code, str(fact.value))
        rows.append({"code": code, "label": label, "value": shown,
                     "observed_at": fact.observed_at,
                     "by": fact.observed_by.label if fact.observed_by else "",
                     "department": fact.department.name if fact.department else "",
                     "source": fact.source})
    return rows

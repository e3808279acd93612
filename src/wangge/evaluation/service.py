"""Evaluation — 综合评价: indicators by unit and period, the governance index (治理指数),
rankings with trends and explanations, and the administrators' weights.

Units are streets, communities, departments and grid workers *inside the asking user's
subtree*: a node outside it is a 404 like a missing one; a street staff member sees her
street, its communities, departments and grid workers. The index of a unit is

    Σ over dimensions  W_d × ( Σ over its indicators  w_i × score_i ) / Σ w_i

with weights in percent. An indicator without data in the period (its denominator empty —
no ratings yet, say) or not defined for the unit kind is left out and the weights of the rest
of its dimension are scaled up to 100 %; a dimension left with nothing is left out the same
way. So every unit's score is a weighted average of what can be said about it, and each
indicator's *contribution* (effective weight × score) adds up to the score exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from wangge.accounts.models import Department, User
from wangge.accounts.permissions import require_permission
from wangge.accounts.roles import Role
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.audit.context import Actor, current_actor
from wangge.audit.services import record
from wangge.figures.service import home_node, parse_period
from wangge.regions.models import Level, Region
from wangge.regions.tree import subtree_q

from . import counts as counting
from .indicators import BY_CODE, Unit, Value, evaluate_all, score
from .models import WeightSet

MOVERS = 3  # indicators named as having moved a score most


# -- units and periods --------------------------------------------------------------------

@dataclass(frozen=True)
class UnitRef:
    """One unit of evaluation: ``key`` is a region code, department code or username."""

    kind: str
    key: str
    name: str
    context: str = ""  # where it is: a worker's grid, a department's node
    tally: counting.Key | None = None  # (node, dim) of its figures; None: a grid worker
    pk: int = 0


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The equal-length period just before, for trends."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def as_json(self) -> dict:
        return {"start": self.first.isoformat(), "end": self.last.isoformat()}


UNIT_LABELS = {
    Unit.STREET: ("街道/乡镇", "streets"),
    Unit.COMMUNITY: ("社区/村", "communities"),
    Unit.DEPARTMENT: ("职能部门", "departments"),
    Unit.GRID_WORKER: ("网格员", "grid workers"),
}


def parse_unit(kind: str | None) -> str:
    kind = kind or Unit.STREET
    if kind not in Unit.ALL:
        raise ValidationError({"unit": f"{kind!r} is not one of {', '.join(Unit.ALL)}"})
    return kind


def resolve(user, kind: str | None, node: str | None, start, end, token=None
            ) -> tuple[str, Region, Period]:
    """Check permission, then the unit kind, the node (in scope, else 404) and the period."""
    require_permission(user, "evaluation.view", token)
    kind = parse_unit(kind)
    region = get_visible_or_404(Region, user, code=node) if node else home_node(user)
    first, last = parse_period(start, end)
    return kind, region, Period(first, last)


def _regions(level: int) -> Callable[[object, str, Region], list[UnitRef]]:
    def find(user, kind: str, node: Region) -> list[UnitRef]:
        if node.level > level:
            raise ValidationError({"unit": f"there are no {UNIT_LABELS[kind][1]} under "
                                           f"{node.name} ({node.code})"})
        rows = visible_to(Region, user).filter(subtree_q(node.path), level=level)
        return [UnitRef(kind, r.code, r.name, tally=(r.pk, ""), pk=r.pk)
                for r in rows.order_by("code")]

    return find


def _departments(user, kind: str, node: Region) -> list[UnitRef]:
    """Departments serving inside the node; each is read where its breakdown is kept: its
    own node, or the street above it (the ``d:`` breakdown is kept from the street up)."""
    if node.level > Level.TOWNSHIP:
        raise ValidationError({"unit": "department figures are kept from the street level up; "
                                       "choose a street or a higher node"})
    depts = list(visible_to(Department, user).filter(subtree_q(node.path, "region__path"),
                                                     is_active=True).select_related("region"))
    codes = {c for d in depts if d.region.level > Level.TOWNSHIP
             for c in d.region.path.split(".") if c}
    streets = dict(Region.objects.filter(code__in=codes, level=Level.TOWNSHIP)
                   .values_list("code", "pk"))

    def reading_node(d: Department) -> int:
        if d.region.level <= Level.TOWNSHIP:
            return d.region.pk
        return next(streets[c] for c in d.region.path.split(".") if c in streets)

    return [UnitRef(kind, d.code, d.name, d.region.name, (reading_node(d), f"d:{d.pk}"), d.pk)
            for d in depts]


def _grid_workers(user, kind: str, node: Region) -> list[UnitRef]:
    rows = (visible_to(User, user).filter(subtree_q(node.path, "region__path"),
                                          role=Role.GRID_WORKER, is_active=True)
            .select_related("region").order_by("username"))
    return [UnitRef(kind, u.username, u.label, u.region.name, None, u.pk) for u in rows]


_FINDERS: dict[str, Callable[[object, str, Region], list[UnitRef]]] = {
    Unit.STREET: _regions(Level.TOWNSHIP),
    Unit.COMMUNITY: _regions(Level.COMMUNITY),
    Unit.DEPARTMENT: _departments,
    Unit.GRID_WORKER: _grid_workers,
}


def units_under(user, kind: str, node: Region) -> list[UnitRef]:
    """The units of ``kind`` inside ``node`` that ``user`` may see."""
    return _FINDERS[kind](user, kind, node)


def unit_counts(units: list[UnitRef], period: Period, *, raw: bool = False
                ) -> dict[str, dict[str, int]]:
    """Counts per unit key: tallies (or, with ``raw``, a recount) for nodes and departments;
    a grid worker's own events."""
    workers = [u for u in units if u.tally is None]
    others = [u for u in units if u.tally is not None]
    out: dict[str, dict[str, int]] = {}
    if others:
        read = counting.recounted if raw else counting.from_tallies
        by_key = read([u.tally for u in others], period.first, period.last)
        out.update({u.key: by_key[u.tally] for u in others})
    if workers:
        by_pk = counting.for_workers([u.pk for u in workers], period.first, period.last)
        out.update({u.key: by_pk[u.pk] for u in workers})
    return out


# -- the index ----------------------------------------------------------------------------

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "default_weights.json"


def current_weights() -> WeightSet:
    """The newest weight set; with none (a database emptied after migrating), the shipped
    defaults become version 1, as the migration would have made them."""
    found = WeightSet.objects.order_by("-version").first()
    if found is None:
        data = json.loads(DEFAULT_WEIGHTS.read_text(encoding="utf-8"))
        found, _ = WeightSet.objects.get_or_create(
            version=1, defaults={"spec": {"dimensions": data["dimensions"]},
                                 "note": data.get("note", "")})
    return found


def weights(version: int | str | None = None) -> WeightSet:
    if version in (None, ""):
        return current_weights()
    try:
        return WeightSet.objects.get(version=int(version))
    except (ValueError, WeightSet.DoesNotExist):
        raise ValidationError({"version": f"no index weights version {version!r}"}) from None


@dataclass
class Scored:
    """A unit's values, scores and index in one period."""

    unit: UnitRef
    values: dict[str, Value]
    scores: dict[str, float | None]
    dimensions: list[dict] = field(default_factory=list)
    contributions: dict[str, float] = field(default_factory=dict)
    total: float | None = None


def _index(scored: Scored, spec: dict) -> None:
    """Fill the dimensions, contributions and total (see the module docstring)."""
    parts = []
    for d in spec["dimensions"]:
        items = [(code, float(w)) for code, w in d["indicators"].items()
                 if float(w) > 0 and scored.scores.get(code) is not None]
        inner = sum(w for _, w in items)
        value = sum(w * scored.scores[c] for c, w in items) / inner if inner else None
        scored.dimensions.append({"code": d["code"], "zh": d["zh"], "en": d["en"],
                                  "weight": d["weight"], "score": value})
        if value is not None and float(d["weight"]) > 0:
            parts.append((float(d["weight"]), items, inner, value))
    outer = sum(w for w, *_ in parts)
    if not outer:
        return
    scored.total = sum(w * v for w, _, _, v in parts) / outer
    for w, items, inner, _ in parts:
        for code, iw in items:
            scored.contributions[code] = w / outer * iw / inner * scored.scores[code]


def score_units(units: list[UnitRef], counts: dict[str, dict[str, int]], kind: str,
                spec: dict) -> dict[str, Scored]:
    values = {u.key: evaluate_all(counts[u.key], kind) for u in units}
    out = {}
    for u in units:
        own = values[u.key]
        scores = {code: score(v, [values[p.key][code] for p in units], counts[u.key])
                  for code, v in own.items()}
        scored = Scored(u, own, scores)
        _index(scored, spec)
        out[u.key] = scored
    return out


def _ranks(scored: dict[str, Scored]) -> dict[str, int]:
    """Competition ranking by score (1, 2, 2, 4); units without a score are unranked."""
    ordered = sorted((s.total, key) for key, s in scored.items() if s.total is not None)
    ordered.reverse()
    ranks, last, last_rank = {}, None, 0
    for i, (total, key) in enumerate(ordered, 1):
        total = round(total, 2)
        if total != last:
            last, last_rank = total, i
        ranks[key] = last_rank
    return ranks


def _movers(now: Scored, before: Scored) -> list[dict]:
    """The indicators whose contribution changed most since the previous period."""
    if now.total is None or before.total is None:
        return []
    codes = set(now.contributions) | set(before.contributions)
    moved = [(now.contributions.get(c, 0.0) - before.contributions.get(c, 0.0), c)
             for c in codes]
    moved = [(d, c) for d, c in moved if abs(d) >= 0.05]
    moved.sort(key=lambda m: (-abs(m[0]), m[1]))
    return [{"indicator": c, "label": _label(BY_CODE[c]), "points": round(d, 2)}
            for d, c in moved[:MOVERS]]


def _chinese() -> bool:
    return (translation.get_language() or "zh-hans").lower().startswith("zh")


def _label(indicator) -> str:
    """The indicator's name in the reader's language (Chinese by default)."""
    return indicator.zh if _chinese() else str(indicator.en)


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


@dataclass
class Evaluation:
    """Everything one ranking or card needs: the units, both periods, their scores."""

    kind: str
    node: Region
    period: Period
    weights: WeightSet
    units: list[UnitRef]
    now: dict[str, Scored]
    before: dict[str, Scored]

    @property
    def ranks(self) -> dict[str, int]:
        return _ranks(self.now)

    @property
    def previous_ranks(self) -> dict[str, int]:
        return _ranks(self.before)


def evaluate_units(user, kind: str | None = None, node: str | None = None, start=None,
                   end=None, *, version=None, token=None, raw: bool = False) -> Evaluation:
    """Score the units of a kind inside a node for a period and the one before it, with
    one version of the weights (the current one unless given: the two periods are compared
    with the same weights)."""
    kind, region, period = resolve(user, kind, node, start, end, token)
    ws = weights(version)
    units = units_under(user, kind, region)
    prev = period.previous()
    now = score_units(units, unit_counts(units, period, raw=raw), kind, ws.spec)
    before = score_units(units, unit_counts(units, prev, raw=raw), kind, ws.spec)
    return Evaluation(kind, region, period, ws, units, now, before)


def _trend(rank: int | None, prev: int | None) -> str:
    if rank is None:
        return "none"
    if prev is None:
        return "new"
    return "up" if rank < prev else "down" if rank > prev else "same"


def _row(ev: Evaluation, key: str, ranks: dict, prev_ranks: dict) -> dict:
    s, b = ev.now[key], ev.before[key]
    rank, prev = ranks.get(key), prev_ranks.get(key)
    change = None if s.total is None or b.total is None else s.total - b.total
    return {
        "unit": {"kind": ev.kind, "key": key, "name": s.unit.name, "context": s.unit.context},
        "score": _r(s.total), "rank": rank,
        "previous_score": _r(b.total), "previous_rank": prev,
        "score_change": _r(change),
        "rank_change": None if rank is None or prev is None else prev - rank,
        "trend": _trend(rank, prev),
        "dimensions": [{"code": d["code"], "label": d["zh"] if _chinese() else d["en"],
                        "score": _r(d["score"])} for d in s.dimensions],
        "movers": _movers(s, b),
    }


def _node_json(node: Region) -> dict:
    return {"code": node.code, "name": node.name, "level": node.level}


def ranking(user, kind: str | None = None, node: str | None = None, start=None, end=None, *,
            version=None, token=None) -> dict:
    """Units ranked by index score this period, with last period's rank and score."""
    ev = evaluate_units(user, kind, node, start, end, version=version, token=token)
    ranks, prev = ev.ranks, ev.previous_ranks
    rows = [_row(ev, u.key, ranks, prev) for u in ev.units]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["unit"]["name"]))
    return {
        "unit": ev.kind, "node": _node_json(ev.node), "period": ev.period.as_json(),
        "previous_period": ev.period.previous().as_json(),
        "weights": {"version": ev.weights.version}, "rows": rows,
    }


def _value_json(v: Value, s: float | None, contribution: float | None) -> dict:
    i = v.indicator
    return {
        "code": i.code, "zh": i.zh, "en": str(i.en), "unit": i.unit,
        "direction": i.direction, "definition": str(i.definition),
        "value": _r(v.value, 4), "numerator": v.numerator, "denominator": v.denominator,
        "score": _r(s), "contribution": _r(contribution),
    }


def indicator_values(user, kind: str | None = None, node: str | None = None, start=None,
                     end=None, *, token=None, raw: bool = False) -> dict:
    """Every indicator defined for the unit kind, for each unit inside the node."""
    kind, region, period = resolve(user, kind, node, start, end, token)
    units = units_under(user, kind, region)
    counts = unit_counts(units, period, raw=raw)
    return {
        "unit": kind, "node": _node_json(region), "period": period.as_json(),
        "units": [{"kind": kind, "key": u.key, "name": u.name, "context": u.context,
                   "indicators": [_value_json(v, None, None)
                                  for v in evaluate_all(counts[u.key], kind).values()]}
                  for u in units],
    }


def unit_card(user, kind: str, key: str, node: str | None = None, start=None, end=None, *,
              version=None, token=None) -> dict:
    """One unit's score among its peers inside the node: every indicator with its value,
    numerator, denominator, definition, score and contribution; the dimensions; and what
    moved the score since the previous period. A unit not among them is a 404."""
    from django.http import Http404

    ev = evaluate_units(user, kind, node, start, end, version=version, token=token)
    if key not in ev.now:
        raise Http404
    row = _row(ev, key, ev.ranks, ev.previous_ranks)
    s, b = ev.now[key], ev.before[key]
    return {
        **row, "node": _node_json(ev.node), "period": ev.period.as_json(),
        "previous_period": ev.period.previous().as_json(), "of": len(ev.units),
        "weights": {"version": ev.weights.version},
        "indicators": [{**_value_json(v, s.scores[c], s.contributions.get(c)),
                        "previous_value": _r(b.values[c].value, 4),
                        "previous_contribution": _r(b.contributions.get(c))}
                       for c, v in s.values.items()],
        "dimensions": [{"code": d["code"], "zh": d["zh"], "en": d["en"],
                        "weight": d["weight"], "score": _r(d["score"]),
                        "previous_score": _r(p["score"])}
                       for d, p in zip(s.dimensions, b.dimensions, strict=True)],
    }


# -- the weights (administrators) ---------------------------------------------------------

def _weight(raw, where: str, errors: dict) -> float:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        errors[where] = f"{raw!r} is not a number"
        return 0.0
    if not value.is_finite() or value < 0:
        errors[where] = f"a weight is a number of 0 or more, not {raw}"
        return 0.0
    if value != value.quantize(Decimal("0.01")):
        errors[where] = f"at most two decimals, not {raw}"
        return 0.0
    return int(value) if value == value.to_integral() else float(value)


def validate_spec(raw: dict) -> dict:
    """A weight set checked and cleaned, or ValidationError naming every bad field.

    Rules: weights are percentages ≥ 0 (two decimals at most); the dimensions' weights add up
    to exactly 100, and so do the indicator weights of each dimension that has weight — they
    are *not* normalised silently, so what an administrator reads is what is applied; an
    indicator is known and sits in one dimension at most.
    """
    errors: dict[str, str] = {}
    dims = raw.get("dimensions") if isinstance(raw, dict) else None
    if not isinstance(dims, list) or not dims:
        raise ValidationError({"dimensions": "at least one dimension"})
    seen_dims: set[str] = set()
    placed: dict[str, str] = {}
    out = []
    for d in dims:
        code = str(d.get("code") or "").strip()
        if not code or code in seen_dims:
            errors["dimensions"] = f"dimension codes must be given and unique ({code!r})"
            continue
        seen_dims.add(code)
        zh, en = str(d.get("zh") or "").strip(), str(d.get("en") or "").strip()
        if not zh or not en:
            errors[f"{code}.name"] = "a dimension needs a Chinese and an English name"
        weight = _weight(d.get("weight", 0), f"{code}.weight", errors)
        inds: dict[str, float] = {}
        for ind, w in (d.get("indicators") or {}).items():
            if ind not in BY_CODE:
                errors[f"{code}.{ind}"] = (f"unknown indicator {ind!r}; known: "
                                           f"{', '.join(BY_CODE)}")
                continue
            if ind in placed:
                errors[f"{code}.{ind}"] = f"{ind} is already in dimension {placed[ind]}"
                continue
            value = _weight(w, f"{code}.{ind}", errors)
            if value > 0:
                placed[ind] = code
                inds[ind] = value
        total = sum(inds.values())
        if weight > 0 and abs(total - 100) > 1e-6:
            errors[code] = (f"the indicator weights of {zh or code} add up to {total:g}, not "
                            "100")
        out.append({"code": code, "zh": zh, "en": en, "weight": weight, "indicators": inds})
    total = sum(d["weight"] for d in out)
    if "dimensions" not in errors and abs(total - 100) > 1e-6:
        errors["dimensions"] = f"the dimension weights add up to {total:g}, not 100"
    if errors:
        raise ValidationError(errors)
    return {"dimensions": out}


def _changes(old: dict, new: dict) -> list[str]:
    """What changed, one line per weight, for the audit trail."""
    def flat(spec: dict) -> dict[str, float]:
        out = {}
        for d in spec["dimensions"]:
            out[d["code"]] = d["weight"]
            out.update({f"{d['code']}.{k}": v for k, v in d["indicators"].items()})
        return out

    a, b = flat(old), flat(new)
    return [f"{k}: {a.get(k, 0):g} → {b.get(k, 0):g}" for k in sorted(set(a) | set(b))
            if a.get(k, 0) != b.get(k, 0)]


def save_weights(user, raw: dict, note: str) -> WeightSet:
    """Validate, save as the next version and audit — the one way weights change."""
    require_permission(user, "evaluation.configure")
    spec = validate_spec(raw)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "say why the weights change (kept with the version)"})
    if len(note) > 300:
        raise ValidationError({"note": "at most 300 characters"})
    with transaction.atomic():
        current = current_weights()
        changes = _changes(current.spec, spec)
        if not changes:
            raise ValidationError({"dimensions": "nothing changed"})
        try:
            with transaction.atomic():
                ws = WeightSet.objects.create(version=current.version + 1, spec=spec,
                                              note=note, created_by=user)
        except IntegrityError:
            raise ValidationError({"version": "someone saved new weights a moment ago; "
                                              "reload and decide again"}) from None
        current_user = current_actor()
        actor = current_user if current_user.user_id == user.pk else Actor.for_user(user)
        record("evaluation.weights", ws, actor=actor, detail={
            "version": ws.version, "previous": current.version, "note": note,
            "changes": changes})
    return ws

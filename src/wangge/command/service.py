"""The figures pages — 数据看板: one node's numbers for a period, its children, the way up.

Everything is read through ``figures.service`` (summary and trend), which checks permission,
scope and filters; this module only picks the period, shapes the headline and the tables,
and prepares the chart data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Department
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.cases.models import Category, Source
from wangge.cases.workflow import State
from wangge.figures import service as figures

DEFAULT_PRESET = "30d"


def _last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


# The period picker's presets — 时段: key → (label, today → (first day, last day)).
PRESETS: dict[str, tuple[object, Callable[[date], tuple[date, date]]]] = {
    "today": (_("today"), lambda t: (t, t)),
    "7d": (_("last 7 days"), lambda t: (t - timedelta(days=6), t)),
    "30d": (_("last 30 days"), lambda t: (t - timedelta(days=29), t)),
    "month": (_("this month"), lambda t: (t.replace(day=1), t)),
    "last_month": (_("last month"), _last_month),
}
CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """The chosen period: a preset's key (or "custom") and its first and last day."""

    key: str
    start: date
    end: date


def choose_period(preset: str = "", start: str = "", end: str = "") -> Period:
    """A preset named wins (the picker's choice); else the dates given (a custom period);
    else the last 30 days."""
    if (not preset or preset == CUSTOM) and (start or end):
        first, last = figures.parse_period(start or None, end or None)
        return Period(CUSTOM, first, last)
    key = DEFAULT_PRESET if not preset or preset == CUSTOM else preset
    if key not in PRESETS:
        raise ValidationError({"period": f"{key!r} is not one of {', '.join(PRESETS)}"})
    first, last = PRESETS[key][1](timezone.localdate())
    return Period(key, first, last)


@dataclass(frozen=True)
class Question:
    """What a figures or map page was asked: node, period and at most one breakdown."""

    code: str | None
    period: Period
    category: str = ""
    source: str = ""
    department: str = ""

    def query(self, **extra) -> str:
        """The query string that asks the same of another node (drill down or up)."""
        q = QueryDict(mutable=True)
        if self.period.key == CUSTOM:
            q["start"], q["end"] = self.period.start.isoformat(), self.period.end.isoformat()
        elif self.period.key != DEFAULT_PRESET:
            q["period"] = self.period.key
        for name in ("category", "source", "department"):
            if getattr(self, name):
                q[name] = getattr(self, name)
        for name, value in extra.items():
            if value:
                q[name] = value
        return q.urlencode()


def read_question(code: str | None, params: QueryDict) -> Question:
    """The page's question from its query string; a bad value raises naming the field."""
    period = choose_period(params.get("period", "").strip(), params.get("start", "").strip(),
                           params.get("end", "").strip())
    return Question(code, period, params.get("category", "").strip()[:40],
                    params.get("source", "").strip()[:20],
                    params.get("department", "").strip()[:40])


# The headline — 核心指标: (key, label, where it comes from, how it is shown).
HEADLINE: tuple[tuple[str, object, Callable[[dict], object], str], ...] = (
    ("reported", _("new reports"), lambda s: s["flows"]["reported"], "count"),
    ("registered", _("registered"), lambda s: s["flows"]["registered"], "count"),
    ("closed", _("closed"), lambda s: s["flows"]["closed"], "count"),
    ("closed_on_time", _("closed on time"), lambda s: s["derived"]["closed_on_time_share"],
     "share"),
    ("satisfaction", _("satisfaction"), lambda s: s["derived"]["satisfaction"], "share"),
    ("open", _("open now"), lambda s: s["stock"]["open"], "count"),
    ("overdue", _("overdue now"), lambda s: s["stock"]["overdue"], "count"),
)


def share(value: float | None) -> str:
    """0.8333 → "83.3%"; no value (nothing to divide by) → "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"


def satisfaction_of(flows: dict) -> float | None:
    return round(flows["satisfied"] / flows["rated"], 4) if flows["rated"] else None


def headline(data: dict) -> list[dict]:
    out = []
    for key, label, value, kind in HEADLINE:
        v = value(data)
        out.append({"key": key, "label": label, "value": v,
                    "text": share(v) if kind == "share" else str(v)})
    return out


STATE_ORDER = [s.value for s in State]


def by_stage(stock: dict) -> list[dict]:
    """Open cases by stage (在办环节), in the workflow's order."""
    labels = dict(State.choices)
    return [{"state": s, "label": str(labels.get(s, s)), "count": stock["by_state"][s]}
            for s in sorted(stock["by_state"], key=lambda s: (
                STATE_ORDER.index(s) if s in STATE_ORDER else 99, s))]


def child_rows(data: dict) -> list[dict]:
    return [{
        "code": c["code"], "name": c["name"], "level": c["level"],
        "reported": c["flows"]["reported"], "closed": c["flows"]["closed"],
        "open": c["stock"]["open"], "overdue": c["stock"]["overdue"],
        "satisfaction": share(satisfaction_of(c["flows"])),
    } for c in data["children"]]


def filter_choices(user) -> dict:
    """What the filter form offers: top-level categories, sources, departments in scope.

    A department handler is offered nothing: her figures are her department's, always.
    """
    if user.role == Role.HANDLER:
        return {"categories": [], "sources": [], "departments": []}
    return {
        "categories": list(Category.objects.filter(parent__isnull=True, is_active=True)
                           .values_list("code", "name")),
        "sources": [(v, str(label)) for v, label in Source.choices],
        "departments": list(visible_to(Department, user).order_by("code")
                            .values_list("code", "name")),
    }


def figures_page(user, question: Question) -> dict:
    """Everything the figures page shows; raises ValidationError (a bad filter) or Http404."""
    p = question.period
    ask = {"category": question.category, "source": question.source,
           "department": question.department}
    data = figures.summary(user, question.code, p.start, p.end, **ask)
    series = figures.trend(user, data["node"]["code"], p.start, p.end, **ask,
                           flows=("reported", "closed"))
    stages = by_stage(data["stock"])
    rows = child_rows(data)
    return {
        "summary": data,
        "headline": headline(data),
        "stages": stages,
        "children": rows,
        "charts": {
            "trend": {"points": series["points"], "grain": series["grain"],
                      "reported": series["series"]["reported"],
                      "closed": series["series"]["closed"]},
            "stages": {"labels": [s["label"] for s in stages],
                       "counts": [s["count"] for s in stages]},
            "children": {"labels": [r["name"] for r in rows],
                         "open": [r["open"] for r in rows],
                         "overdue": [r["overdue"] for r in rows]},
        },
    }

"""The public transparency page — 政务公开: what anyone may read without signing in.

Aggregates only, for public nodes (levels city to street): matters received and closed,
the share closed on time, satisfaction, and the average time to close, for the last 30 days
and this year, with a month-by-month chart; and the matters list (事项公开) of residents' and
hotline matters — category, street, dates, state, rating. Never a title, description, address,
name or phone: free text can carry personal data, so none is published.

Average time to close (平均办结用时) is in calendar hours, from receipt to closure, over the
matters closed in the window. Everything is cached for ``CACHE_SECONDS``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Avg, DurationField, ExpressionWrapper, F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Case, Source
from wangge.cases.workflow import State
from wangge.figures.service import derived
from wangge.regions.models import Level, Region
from wangge.regions.tree import subtree_q

from .service import read_figures

CACHE_SECONDS = 300
PUBLIC_LEVELS = (Level.CITY, Level.COUNTY, Level.TOWNSHIP)
PUBLIC_SOURCES = (Source.RESIDENT, Source.HOTLINE, Source.OPEN311)  # residents' own matters
PER_PAGE = 20
MAX_PAGE = 50  # the list shows recent matters; deeper history is in the figures
RECENT_DAYS = 30

# What a resident is told about a matter's state (fewer, plainer words than the workflow's).
PUBLIC_STATES: dict[str, object] = {
    State.REPORTED: _("received (已受理)"),
    State.REGISTERED: _("received (已受理)"),
    State.DISPATCHED: _("being handled (办理中)"),
    State.HANDLING: _("being handled (办理中)"),
    State.HANDLED: _("being handled (办理中)"),
    State.UNDER_REVIEW: _("being handled (办理中)"),
    State.SUSPENDED: _("on hold (暂缓办理)"),
    State.CLOSED: _("closed (已办结)"),
    State.REJECTED: _("not accepted (不予受理)"),
    State.VOIDED: _("withdrawn (已撤销)"),
}

# The figures published for each window, declared once (key, label, format).
FIGURES: tuple[tuple[str, object, str], ...] = (
    ("received", _("matters received"), "int"),
    ("closed", _("matters closed"), "int"),
    ("closed_on_time_share", _("closed on time"), "pct"),
    ("satisfaction", _("satisfaction"), "pct"),
    ("average_hours_to_close", _("average time to close (hours)"), "hours"),
)


WINDOW_LABELS: dict[str, object] = {"last_30_days": _("Last 30 days"),
                                     "this_year": _("This year")}


def public_nodes():
    return Region.objects.filter(level__in=PUBLIC_LEVELS)


def node_choices() -> list[dict]:
    """Every public node (code, name, level) in tree order, for the page's chooser."""

    def load() -> list[dict]:
        return list(public_nodes().order_by("path").values("code", "name", "level"))

    return cache.get_or_set("briefings:public:nodes", load, CACHE_SECONDS)


def public_node(code: str | None) -> Region:
    """The node asked for, if it is public; the deployment's top public node by default."""
    nodes = public_nodes()
    if code:
        found = nodes.filter(code=code).first()
        if found is None:
            raise ValidationError({"node": f"{code!r} is not a public city, district or "
                                           "street"})
        return found
    top = nodes.order_by("level", "code").first()
    if top is None:
        raise ValidationError({"node": "there are no public nodes yet"})
    return top


def _average_hours(node: Region, first: date, last: date) -> float | None:
    tz = timezone.get_current_timezone()
    since = timezone.make_aware(datetime.combine(first, time.min), tz)
    until = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    took = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    avg = (Case.objects.filter(subtree_q(node.path, "region_path"), state=State.CLOSED,
                               closed_at__gte=since, closed_at__lt=until)
           .aggregate(avg=Avg(took))["avg"])
    if avg is None:
        return None
    if isinstance(avg, timedelta):
        return round(avg.total_seconds() / 3600, 1)
    return round(float(avg) / 3_600_000_000, 1)  # microseconds, where the backend says so


def _window(node: Region, first: date, last: date) -> dict:
    s = read_figures(node.code, first, last)
    ratios = derived(s["flows"])
    return {"start": first.isoformat(), "end": last.isoformat(),
            "received": s["flows"]["reported"], "closed": s["flows"]["closed"],
            "closed_on_time_share": ratios["closed_on_time_share"],
            "satisfaction": ratios["satisfaction"],
            "average_hours_to_close": _average_hours(node, first, last)}


def _months(node: Region, today: date) -> list[dict]:
    read = partial(read_figures, node.code)
    out = []
    for month in range(1, today.month + 1):
        first = today.replace(month=month, day=1)
        last = min(today, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        flows = read(first, last)["flows"]
        out.append({"month": first.strftime("%Y-%m"), "received": flows["reported"],
                    "closed": flows["closed"]})
    return out


def _compute_figures(node: Region, today: date) -> dict:
    return {
        "node": {"code": node.code, "name": node.name, "level": node.level},
        "as_of": timezone.now().isoformat(),
        "windows": {"last_30_days": _window(node, today - timedelta(days=RECENT_DAYS - 1), today),
                    "this_year": _window(node, today.replace(month=1, day=1), today)},
        "by_month": _months(node, today),
    }


def figures(node: Region, today: date | None = None) -> dict:
    """The node's published figures as of ``today`` (default: the local date), cached."""
    today = today or timezone.localdate()
    key = f"briefings:public:figures:{node.code}:{today.isoformat()}"
    return cache.get_or_set(key, lambda: _compute_figures(node, today), CACHE_SECONDS)


def _street_names(node: Region) -> dict[str, str]:
    if node.level == Level.TOWNSHIP:
        return {node.code: node.name}
    return dict(Region.objects.filter(subtree_q(node.path), level=Level.TOWNSHIP)
                .values_list("code", "name"))


def _compute_matters(node: Region, page: int) -> dict:
    streets = _street_names(node)
    offset = (page - 1) * PER_PAGE
    rows = list(Case.objects.filter(subtree_q(node.path, "region_path"),
                                    source__in=PUBLIC_SOURCES)
                .exclude(state=State.MERGED)
                .order_by("-created_at", "-id")
                .values("category__name", "region_path", "created_at", "state", "closed_at",
                        "rating")[offset:offset + PER_PAGE + 1])
    items = []
    for r in rows[:PER_PAGE]:
        street = next((streets[c] for c in r["region_path"].split(".") if c in streets), "")
        items.append({
            "category": r["category__name"], "street": street,
            "received": timezone.localdate(r["created_at"]).isoformat(),
            "state": r["state"],
            "closed": timezone.localdate(r["closed_at"]).isoformat() if r["closed_at"]
            else None,
            "rating": r["rating"],
        })
    return {"page": page, "per_page": PER_PAGE, "has_previous": page > 1,
            "has_next": len(rows) > PER_PAGE and page < MAX_PAGE, "items": items}


def matters(node: Region, page: int | str | None = 1) -> dict:
    """One page of the matters list, newest first (at most ``MAX_PAGE`` pages)."""
    try:
        page = int(page or 1)
    except (TypeError, ValueError):
        raise ValidationError({"page": f"{page!r} is not a page number"}) from None
    if not 1 <= page <= MAX_PAGE:
        raise ValidationError({"page": f"pages run from 1 to {MAX_PAGE}"})
    key = f"briefings:public:matters:{node.code}:{page}"
    return cache.get_or_set(key, lambda: _compute_matters(node, page), CACHE_SECONDS)


def state_label(state: str) -> str:
    return str(PUBLIC_STATES.get(state, state))


def present(window: dict) -> list[tuple[str, str]]:
    """A window's figures as (label, text) in the reader's language; "—" where nothing was
    counted (no rating, nothing closed)."""
    out = []
    for key, label, fmt in FIGURES:
        value = window[key]
        if value is None:
            text = "—"
        elif fmt == "pct":
            text = f"{value * 100:.1f}%"
        elif fmt == "hours":
            text = f"{value:.1f}"
        else:
            text = f"{value:,d}"
        out.append((str(label), text))
    return out

"""What a briefing says, declared once as a list of sections — 简报栏目.

Each ``Section`` names its columns (key, label, format), how to build its rows from the
figures (``build``), an optional chart, and, when its rows name cases, a ``restrict`` that
keeps only the rows a reader may see. The printable page and the XLSX are rendered from
these declarations alone, so a new section (the evaluation index, say) is one more entry in
``SECTIONS`` and appears in both.

Rows are stored as plain values (numbers, codes, names from the tree) in the briefing's
snapshot; labels are looked up when rendering, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext_lazy as _

from wangge.accounts.scope import visible_to
from wangge.cases.models import Case, Category
from wangge.cases.workflow import OPEN_STATES
from wangge.figures.service import derived
from wangge.regions.models import Region
from wangge.regions.tree import subtree_q

# Formats a column (or, with ``ROW``, each row through its "fmt" value) is shown in.
INT, PCT, DAYS, TEXT, LABEL, ROW = "int", "pct", "days", "text", "label", "row"
TOP_CATEGORIES = 10
OVERDUE_CASES = 20


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    fmt: str = INT
    labels: dict | None = None  # for LABEL: stored value → display label


@dataclass(frozen=True)
class Chart:
    """A bar chart: one bar group per row, labelled by ``category``, one bar per series."""

    category: str
    series: tuple[str, ...]
    where: Callable[[dict], bool] | None = None  # the rows charted (default: all)

    def rows(self, rows: list[dict]) -> list[dict]:
        return [r for r in rows if self.where is None or self.where(r)]


@dataclass
class Context:
    """What the builders read: the node, the period, and the figures fetched once."""

    node: Region
    start: date
    end: date
    previous: tuple[date, date]
    now: datetime
    summary: Callable[..., dict]  # figures.service.summary bound to the system reader
    current: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    key: str
    title: object
    columns: tuple[Column, ...]
    build: Callable[[Context], list[dict]]
    chart: Chart | None = None
    # Rows a given reader may see (for rows that name cases); None: every row.
    restrict: Callable[[list[dict], object], list[dict]] | None = None
    note: object = ""


# --- headline figures (主要指标) -------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """One headline figure: where it comes from in a summary, and whether it is a share."""

    key: str
    label: object
    read: Callable[[dict], float | int | None]
    fmt: str = INT
    compare: bool = True  # stock "now" has no previous value to compare with


def _flow(name: str) -> Callable[[dict], int]:
    return lambda s: s["flows"][name]


def _derived(name: str) -> Callable[[dict], float | None]:
    return lambda s: s["derived"][name]


def _stock(name: str) -> Callable[[dict], int]:
    return lambda s: s["stock"][name]


MEASURES: tuple[Measure, ...] = (
    Measure("reported", _("new matters (新上报)"), _flow("reported")),
    Measure("registered", _("registered (立案)"), _flow("registered")),
    Measure("dispatched", _("dispatched (派遣)"), _flow("dispatched")),
    Measure("closed", _("closed (结案)"), _flow("closed")),
    Measure("closed_on_time_share", _("closed on time (按期结案率)"),
            _derived("closed_on_time_share"), PCT),
    Measure("satisfaction", _("satisfaction (满意率)"), _derived("satisfaction"), PCT),
    Measure("escalated", _("went overdue (超期)"), _flow("escalated")),
    Measure("returned", _("returned (回退)"), _flow("returned")),
    Measure("open_now", _("open now (在办)"), _stock("open"), compare=False),
    Measure("overdue_now", _("overdue now (超期未结)"), _stock("overdue"), compare=False),
)


def _change(now, before, fmt: str):
    if now is None or before is None:
        return None
    return round(now - before, 4) if fmt == PCT else now - before


def build_headline(ctx: Context) -> list[dict]:
    rows = []
    for m in MEASURES:
        now = m.read(ctx.current)
        before = m.read(ctx.before) if m.compare else None
        rows.append({"measure": m.key, "fmt": m.fmt, "current": now, "previous": before,
                     "change": _change(now, before, m.fmt)})
    return rows


# --- children ranking (下级排名) -------------------------------------------------------------

def _ranking_key(row: dict) -> tuple:
    """Best first: the larger share closed on time, then fewer overdue, then more closed.
    A child that closed nothing in the period ranks after every one that did."""
    share = row["closed_on_time_share"]
    return (share is None, -(share or 0), row["overdue_now"], -row["closed"], row["code"])


def build_children(ctx: Context) -> list[dict]:
    rows = []
    for child in ctx.current["children"]:
        ratios = derived(child["flows"])
        rows.append({"code": child["code"], "name": child["name"],
                     "reported": child["flows"]["reported"],
                     "closed": child["flows"]["closed"],
                     "closed_on_time_share": ratios["closed_on_time_share"],
                     "overdue_now": child["stock"]["overdue"],
                     "satisfaction": ratios["satisfaction"]})
    rows.sort(key=_ranking_key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


# --- top categories (高发问题) --------------------------------------------------------------

def build_categories(ctx: Context) -> list[dict]:
    """The top-level categories with the most new matters in the period (the figures keep
    breakdowns by top-level category from the street up, which is where briefings start)."""
    rows = []
    for cat in Category.objects.filter(parent=None).order_by("sort", "code"):
        s = ctx.summary(ctx.node.code, ctx.start, ctx.end, category=cat.code)
        if s["flows"]["reported"] or s["flows"]["closed"] or s["stock"]["open"]:
            rows.append({"code": cat.code, "name": cat.name,
                         "reported": s["flows"]["reported"], "closed": s["flows"]["closed"],
                         "open_now": s["stock"]["open"], "overdue_now": s["stock"]["overdue"]})
    rows.sort(key=lambda r: (-r["reported"], -r["open_now"], r["code"]))
    return rows[:TOP_CATEGORIES]


# --- the most overdue open cases (超期案件) --------------------------------------------------

def build_overdue(ctx: Context) -> list[dict]:
    """Open cases past their deadline, longest overdue first: number, title, grid and days
    past the deadline (calendar days at generation). Never who reported or raised it."""
    cases = (Case.objects.filter(subtree_q(ctx.node.path, "region_path"), overdue=True,
                                 state__in=[s.value for s in OPEN_STATES], due_at__isnull=False)
             .select_related("region").order_by("due_at", "code")[:OVERDUE_CASES])
    return [{"code": c.code, "title": c.title, "grid": c.region.name if c.region else "",
             "days_overdue": round((ctx.now - c.due_at).total_seconds() / 86400, 1)}
            for c in cases]


def restrict_to_visible_cases(rows: list[dict], reader) -> list[dict]:
    """Only the cases the reader may open (the snapshot was taken by the system)."""
    codes = set(visible_to(Case, reader).filter(code__in=[r["code"] for r in rows])
                .values_list("code", flat=True))
    return [r for r in rows if r["code"] in codes]


SECTIONS: tuple[Section, ...] = (
    Section("headline", _("Headline figures"), (
        Column("measure", _("measure"), LABEL, labels={m.key: m.label for m in MEASURES}),
        Column("current", _("this period"), ROW),
        Column("previous", _("previous period"), ROW),
        Column("change", _("change"), ROW),
    ), build_headline, chart=Chart("measure", ("current", "previous"),
                                 where=lambda r: r["fmt"] == INT and r["previous"] is not None),
        note=_("Open and overdue are counted when the briefing was generated.")),
    Section("children", _("Ranking of the areas below"), (
        Column("rank", _("rank")),
        Column("name", _("area"), TEXT),
        Column("reported", _("new")),
        Column("closed", _("closed")),
        Column("closed_on_time_share", _("closed on time"), PCT),
        Column("overdue_now", _("overdue now")),
        Column("satisfaction", _("satisfaction"), PCT),
    ), build_children, chart=Chart("name", ("reported", "closed")),
        note=_("Ranked by the share closed on time, then by fewer overdue cases.")),
    Section("categories", _("Top categories"), (
        Column("name", _("category"), TEXT),
        Column("reported", _("new")),
        Column("closed", _("closed")),
        Column("open_now", _("open now")),
        Column("overdue_now", _("overdue now")),
    ), build_categories, chart=Chart("name", ("reported", "closed"))),
    Section("overdue", _("Most overdue open cases"), (
        Column("code", _("case number"), TEXT),
        Column("title", _("title"), TEXT),
        Column("grid", _("grid"), TEXT),
        Column("days_overdue", _("days overdue"), DAYS),
    ), build_overdue, restrict=restrict_to_visible_cases,
        note=_("Calendar days past the current step's deadline, when the briefing was "
               "generated.")),
)
SECTIONS_BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS}

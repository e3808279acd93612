"""What linkage pages and the API show — 展示: masked rows, agreement levels, run progress.

Shared by ``views`` and ``api`` so a pair reads the same on a phone and to a client: each
side's masked values (``SourceRecord.masked``; choices by their label), the level each field
agreed at in the model's words (translated), the probability and why a likely pair was held
back. Nothing here opens a sealed row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.catalog.fields import get_field

from ..models import LinkRun, ReviewItem, SourceRecord
from .conflicts import shown
from .persons import KEPT_BECAUSE

# The fields a pair is compared on, and the comparison (``linkage.config``) judging each.
PAIR_FIELDS = (("name", "name"), ("id_number", "id_number"), ("birth_date", "birth_date"),
               ("sex", "sex"), ("phone", "contact"), ("address", "contact"))

# The model's level labels (``linkage.config``), as a steward reads them.
LEVELS = {
    "exact": gettext_lazy("the same"),
    "same pinyin": gettext_lazy("same sound (homophone)"),
    "one character differs": gettext_lazy("one character differs"),
    "similar pinyin": gettext_lazy("similar sound"),
    "one digit wrong or two swapped": gettext_lazy("one digit wrong or two swapped"),
    "one day off or month/day swapped": gettext_lazy("one day off or month and day swapped"),
    "phone and address agree": gettext_lazy("phone and address agree"),
    "phone agrees": gettext_lazy("phone agrees"),
    "phone: one digit wrong or two swapped": gettext_lazy("phone: one digit wrong or two "
                                                          "swapped"),
    "address agrees": gettext_lazy("address agrees"),
    "same community": gettext_lazy("same community"),
    "missing": gettext_lazy("missing on one side"),
    "differs": gettext_lazy("differs"),
}
AGREE = frozenset({"exact", "phone and address agree", "phone agrees", "address agrees"})

STEPS = {
    "loading": gettext_lazy("reading the records"),
    "linking": gettext_lazy("comparing the records"),
    "applying": gettext_lazy("updating persons"),
    "refreshing": gettext_lazy("recomputing the persons' values"),
    "review": gettext_lazy("updating the review queue"),
    "done": gettext_lazy("done"),
}
STATUSES = {"queued": gettext_lazy("queued"), "running": gettext_lazy("running"),
            "done": gettext_lazy("done"), "failed": gettext_lazy("failed")}


def level_label(level: str) -> str:
    return str(LEVELS.get(level, level))


def level_class(level: str) -> str:
    if level in AGREE:
        return "agree"
    if level == "missing":
        return "missing"
    return "differs" if level == "differs" else "partial"


def held_back_text(reason: str) -> str:
    """Why a likely pair was not merged on its own, in the steward's words."""
    if not reason:
        return ""
    if reason.startswith("no agreement on the person"):
        return _("likely, but neither the name nor the ID number agrees")
    if reason == "id_number: differs":
        return _("likely, but the ID numbers differ (twins, family members?)")
    if reason.startswith("its groups hold different ID numbers"):
        return _("joining would put different ID numbers, or records kept apart, together")
    return reason


def kept_text(code: str) -> str:
    return str(KEPT_BECAUSE.get(code, code))


@dataclass
class Side:
    row: SourceRecord
    dataset: str
    department: str

    @property
    def pk(self) -> int:
        return self.row.pk


@dataclass
class FieldLine:
    code: str
    label: str
    a: str
    b: str
    level: str
    level_class: str


def side(row: SourceRecord) -> Side:
    return Side(row=row, dataset=row.dataset.name, department=row.dataset.department.name)


def pair_lines(item: ReviewItem) -> list[FieldLine]:
    """The pair field by field: both masked values and the level they agreed at."""
    out = []
    for code, comparison in PAIR_FIELDS:
        level = (item.agreement or {}).get(comparison, "")
        out.append(FieldLine(code=code, label=get_field(code).label,
                             a=shown(code, item.record_a), b=shown(code, item.record_b),
                             level=level_label(level) if level else "",
                             level_class=level_class(level) if level else ""))
    return out


def masked_row(row: SourceRecord) -> list[tuple[str, str]]:
    """A row's values as pages show them (masked): (field label, value) pairs."""
    return [(get_field(code).label, shown(code, row)) for code in (row.masked or {})]


def run_view(run: LinkRun | None) -> dict | None:
    """A run for the page and the API: status, step, counts, seconds; never a value."""
    if run is None:
        return None
    timings = run.timings or {}
    return {
        "id": run.pk, "status": run.status, "status_label": str(STATUSES.get(run.status,
                                                                              run.status)),
        "step": timings.get("step", ""),
        "step_label": str(STEPS.get(timings.get("step", ""), "")),
        "started_at": run.started_at, "finished_at": run.finished_at,
        "records": run.records, "persons": run.persons,
        "created_persons": run.created_persons, "review": run.review,
        "conflicts": run.conflicts, "seconds": timings.get("total"),
        "kept": [{"person": k["person"], "because": kept_text(k["because"])}
                 for k in timings.get("kept", [])],
        "started_by": run.started_by.get_username() if run.started_by_id else "",
        "error": run.error,
    }

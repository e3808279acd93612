"""Background jobs — 后台任务, declared once: what runs, how often, as whom.

``wangge worker`` runs them all in one process; each job is also a command of its own
(``wangge escalate``, ``wangge figures fold``) for operators who schedule them apart. Every job
is safe to run in several workers at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], int]  # returns how much it did


def _fold() -> int:
    from wangge.figures.fold import fold_all

    return fold_all()


def _escalate() -> int:
    from wangge.cases.escalation import escalate_overdue

    return escalate_overdue()


def _sweep_photos() -> int:
    from wangge.cases.services.photos import sweep_orphan_files

    return sweep_orphan_files()


def _briefings() -> int:
    from wangge.briefings.service import generate_due

    return generate_due()


JOBS: tuple[Job, ...] = (
    Job("figures.fold", 5.0, _fold),  # figures stay current within seconds
    Job("cases.escalate", 60.0, _escalate),  # deadlines are in working hours: a minute is fine
    # Photo files whose transaction rolled back (their rows never committed).
    Job("cases.sweep_photos", 3600.0, _sweep_photos),
    # Due briefings, a few per pass (one query per kind when none is due); unique per period.
    Job("briefings.generate", 30.0, _briefings),
)

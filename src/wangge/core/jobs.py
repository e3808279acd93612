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


JOBS: tuple[Job, ...] = (
    Job("figures.fold", 5.0, _fold),  # figures stay current within seconds
    Job("cases.escalate", 60.0, _escalate),  # deadlines are in working hours: a minute is fine
)

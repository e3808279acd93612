from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.cases.conftest import (  # noqa: F401 — the case fixtures, shared
    _quick_password_hashing,
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)


class Clock:
    """The time every service reads (``django.utils.timezone.now``), moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> datetime:
        self.now = at
        return at

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A controlled clock starting now (real time no longer passes for the services)."""
    c = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", c)
    return c

"""Fixtures for the command tests: the case fixtures, deadlines and a small city of cases."""

from tests.cases.conftest import (  # noqa: F401 — the case fixtures, shared
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)
from tests.command.city import deadlines, small_city  # noqa: F401

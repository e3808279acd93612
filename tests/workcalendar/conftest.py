import pytest

from wangge.workcalendar import services


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Year tables are per process; a test's overrides must not leak into the next test."""
    services.clear_cache()
    yield
    services.clear_cache()

import pytest
from django.utils import translation

from wangge.workcalendar import services


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Year tables are per process; a test's overrides must not leak into the next test."""
    services.clear_cache()
    yield
    services.clear_cache()


@pytest.fixture(autouse=True)
def _english_messages(settings):
    """Assertions read the English msgids; pages get English through the language cookie."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield

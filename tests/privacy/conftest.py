from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation

from tests.privacy.testmodels import Resident
from wangge.privacy import blind


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, plus the test-only table of ``testmodels.Resident``."""
    with django_db_blocker.unblock():
        if Resident._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(Resident)


@pytest.fixture(autouse=True)
def key_file(settings, tmp_path, monkeypatch):
    """Each test its own key file (a fresh installation's 32 random bytes), standard suite."""
    monkeypatch.delenv("WANGGE_FIELD_KEYRING", raising=False)
    settings.FIELD_KEY_FILE = tmp_path / "field.key"
    settings.CRYPTO_SUITE = "standard"
    blind.clear_cache()
    yield settings.FIELD_KEY_FILE
    blind.clear_cache()


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted by their English msgids (the zh-hans catalogue may lag)."""
    with translation.override("en"):
        yield


@pytest.fixture
def api_urls():
    """/api/v1/privacy/… is the project's own API (``wangge.config.api`` mounts the router)."""
    from wangge.config.api import api

    assert any(prefix.strip("/") == "privacy" for prefix, _router in api._routers)

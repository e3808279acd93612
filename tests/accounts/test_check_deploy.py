from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from wangge.core.keys import ensure_field_key

GOOD_KEY = "x7#Qm2!vR9@pL4$wZ8^kT1&nB6*cF3(hJ5)dG0_sY-aE+uI=oP" * 2


@pytest.fixture
def production(settings, tmp_path):
    settings.DEBUG = False
    settings.SECRET_KEY = GOOD_KEY
    settings.ALLOWED_HOSTS = ["wangge.example.gov.cn"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.FIELD_KEY_FILE = ensure_field_key(tmp_path / "field.key")
    return settings


def test_production_settings_pass(production, capsys):
    call_command("check_deploy")
    assert "deployment configuration OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"DEBUG": True}, "DEBUG is on"),
        ({"SECRET_KEY": "changeme"}, "well-known default"),
        ({"SECRET_KEY": "django-insecure-abc"}, "well-known default"),
        ({"SECRET_KEY": "short-key"}, "weak"),
        ({"ALLOWED_HOSTS": ["*"]}, "contains '*'"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE"),
    ],
)
def test_unfit_settings_are_refused(production, change, expected):
    for key, value in change.items():
        setattr(production, key, value)
    with pytest.raises(CommandError, match=expected):
        call_command("check_deploy")


def test_missing_or_loose_field_key_is_refused(production, tmp_path):
    production.FIELD_KEY_FILE = tmp_path / "absent.key"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("check_deploy")
    loose = ensure_field_key(tmp_path / "loose.key")
    os.chmod(loose, 0o644)
    production.FIELD_KEY_FILE = loose
    with pytest.raises(CommandError, match="readable by others"):
        call_command("check_deploy")


def test_generated_field_key_is_private(tmp_path):
    path = ensure_field_key(tmp_path / "k")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert len(path.read_bytes()) == 32

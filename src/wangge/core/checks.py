"""Deployment checks behind ``wangge check-deploy``: refuse what is only fit for a laptop."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Values that appear in tutorials and templates; a deployment must never run with them.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "secret-key", "dev", "development", "wangge", "test"}
)
MIN_SECRET_LENGTH = 50


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def _secret_problems() -> list[Problem]:
    key = settings.SECRET_KEY or ""
    problems = []
    if key.lower() in KNOWN_DEFAULT_SECRETS or key.startswith("django-insecure"):
        problems.append(Problem("secret-default", "WANGGE_SECRET_KEY is a well-known default"))
    elif len(key) < MIN_SECRET_LENGTH or len(set(key)) < 5:
        problems.append(Problem("secret-weak",
                                f"WANGGE_SECRET_KEY is weak (needs ≥ {MIN_SECRET_LENGTH} "
                                "varied characters)"))
    return problems


def _field_key_problems() -> list[Problem]:
    path = Path(settings.FIELD_KEY_FILE)
    if not path.exists():
        return [Problem("field-key-missing",
                        f"field-encryption key file {path} does not exist "
                        "(WANGGE_FIELD_KEY_FILE)")]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [Problem("field-key-permissions",
                        f"field-encryption key file {path} is readable by others "
                        f"(mode {mode:o}; chmod 600)")]
    return []


def deploy_problems() -> list[Problem]:
    """Every reason this configuration must not face real users."""
    problems: list[Problem] = []
    if settings.DEBUG:
        problems.append(Problem("debug", "DEBUG is on (unset WANGGE_DEBUG)"))
    problems += _secret_problems()
    problems += _field_key_problems()
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(Problem("allowed-hosts", "WANGGE_ALLOWED_HOSTS contains '*'"))
    return problems

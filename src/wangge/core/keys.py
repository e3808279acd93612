"""The field-encryption key file: created on first use (32 random bytes, mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings

KEY_BYTES = 32


def ensure_field_key(path: Path | None = None) -> Path:
    path = Path(path or settings.FIELD_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
    return path

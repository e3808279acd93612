"""Keyed blind indexes — 盲索引: find a record by a personal value without storing the value.

An HMAC-SHA256 of the normalised value under a key derived from the field-key file, one
derived key per purpose, so the index of a phone number cannot be compared with the index of
an ID number, and a copied table without the key file gives nothing to guess against.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from .keys import ensure_field_key


@functools.cache
def _purpose_key(purpose: str, key_file: str) -> bytes:
    from pathlib import Path

    master = Path(ensure_field_key(Path(key_file) if key_file else None)).read_bytes()
    return hmac.new(master, f"wangge blind index: {purpose}".encode(), hashlib.sha256).digest()


def blind_index(purpose: str, normalised: str) -> str:
    """The index of an already normalised value (e.g. phone digits) for ``purpose``.

    Empty values have no index (``""``), so "no phone" never matches "no phone".
    """
    if not normalised:
        return ""
    from django.conf import settings

    key = _purpose_key(purpose, str(settings.FIELD_KEY_FILE))
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def clear_cache() -> None:
    """Forget derived keys (after a key file change, and between tests)."""
    _purpose_key.cache_clear()

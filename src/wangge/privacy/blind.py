"""Keyed blind indexes — 盲索引: find a record by a personal value without storing the value.

An HMAC-SHA256 of the normalised value under a key derived from the ring's index key, one
derived key per purpose, so the index of a phone number cannot be compared with the index of
an ID number, and a copied table without the key gives nothing to guess against.

The index key does not change when ``wangge rotate-key`` rotates the encryption key (see
``keyring``): an index computed today still finds the record after any number of rotations.
For a fresh installation's raw key file the derivation is the one ``wangge.core.blind`` used
before this module existed, so indexes already stored (accounts' and cases' phones) still match.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from . import keyring


@functools.lru_cache(maxsize=64)
def _purpose_key(purpose: str, index_root: bytes) -> bytes:
    return hmac.new(index_root, f"wangge blind index: {purpose}".encode(),
                    hashlib.sha256).digest()


def blind_index(purpose: str, normalised: str) -> str:
    """The index of an already normalised value (e.g. phone digits) for ``purpose``.

    Empty values have no index (``""``), so "no phone" never matches "no phone".
    """
    if not normalised:
        return ""
    key = _purpose_key(purpose, keyring.current_ring().index_root)
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def clear_cache() -> None:
    """Forget the ring and derived keys (after a key file change, and between tests)."""
    keyring.clear_cache()
    _purpose_key.cache_clear()

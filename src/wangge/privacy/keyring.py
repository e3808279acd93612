"""The field-key ring — 密钥环: the current key, the retired keys, and the blind-index key.

Where the ring comes from (the first that is set wins):

1. ``WANGGE_FIELD_KEYRING``: the ring as JSON text (same format as the file, below), for
   deployments that keep secrets in the environment or a secret manager. ``wangge rotate-key``
   cannot write it; it prints the new value to set instead.
2. ``FIELD_KEY_FILE`` (``WANGGE_FIELD_KEY_FILE``, default ``var/field.key``, mode 0600).
   A fresh installation's file is 32 random bytes (``wangge.core.keys``): that one secret is
   both the index key and the first encryption key, id ``k0``. The first ``rotate-key``
   rewrites the file as JSON::

       {"format": "wangge-field-keys/1",
        "index": "<base64 of 32 bytes>",
        "current": "k1",
        "keys": {"k0": "<base64>", "k1": "<base64>"}}

Each key is a 32-byte root secret; the cipher keys are derived from it per algorithm (HKDF,
see ``crypto``), so one root serves AES-256-GCM and SM4-GCM without reusing key bytes.

The index key is separate and never rotated by ``rotate-key``: blind indexes are what
records are found by, some of them are kept with no cipher beside them (an account's phone
index), so they could not be recomputed; and a rotation that changed them would have to
touch every index at once. Rotating the encryption key is what limits the damage of a leaked
key for the ciphers; the index key only allows confirming a guess, not reading a value.

Server processes notice a rewritten file by its size and modification time, so a rotation
started from the command line reaches running workers without a restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from wangge.core.keys import KEY_BYTES, ensure_field_key

from .errors import KeyRingError, UnknownKey

ENV_VAR = "WANGGE_FIELD_KEYRING"
FORMAT = "wangge-field-keys/1"
LEGACY_KID = "k0"
KID_RE = re.compile(r"k[0-9]{1,6}")


@dataclass(frozen=True)
class KeyRing:
    """The keys in force: ``current`` encrypts, every key in ``roots`` decrypts."""

    index_root: bytes = field(repr=False)
    current: str
    roots: dict[str, bytes] = field(repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        if self.current not in self.roots:
            raise KeyRingError(f"{self.source}: the current key {self.current!r} is not in "
                               "the ring")
        for kid, root in {"index": self.index_root, **self.roots}.items():
            if kid != "index" and not KID_RE.fullmatch(kid):
                raise KeyRingError(f"{self.source}: {kid!r} is not a key id (k0, k1, …)")
            if len(root) != KEY_BYTES:
                raise KeyRingError(f"{self.source}: key {kid!r} is not {KEY_BYTES} bytes")

    def root(self, kid: str) -> bytes:
        try:
            return self.roots[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    @property
    def retired(self) -> list[str]:
        return sorted((k for k in self.roots if k != self.current), key=_kid_number)

    def with_new_key(self) -> KeyRing:
        """This ring plus a fresh random key, which becomes the current one."""
        kid = f"k{max(_kid_number(k) for k in self.roots) + 1}"
        roots = {**self.roots, kid: secrets.token_bytes(KEY_BYTES)}
        return KeyRing(self.index_root, kid, roots, self.source)

    def to_json(self) -> str:
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode()

        return json.dumps({
            "format": FORMAT,
            "index": b64(self.index_root),
            "current": self.current,
            "keys": {kid: b64(self.roots[kid]) for kid in sorted(self.roots, key=_kid_number)},
        }, indent=1)


def _kid_number(kid: str) -> int:
    return int(kid[1:])


def parse(data: bytes, source: str) -> KeyRing:
    """Read a ring from the file or environment contents (legacy 32 raw bytes, or JSON)."""
    if len(data) == KEY_BYTES:  # a JSON ring is always longer than one raw key
        return KeyRing(data, LEGACY_KID, {LEGACY_KID: data}, source)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyRingError(f"{source}: neither {KEY_BYTES} raw bytes nor a JSON key ring") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyRingError(f"{source}: not a key ring (format must be {FORMAT!r})")
    try:
        index = base64.b64decode(doc["index"], validate=True)
        roots = {str(kid): base64.b64decode(value, validate=True)
                 for kid, value in dict(doc["keys"]).items()}
        current = str(doc["current"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise KeyRingError(f"{source}: malformed key ring ({type(exc).__name__}: "
                           f"{str(exc)[:60]})") from None
    return KeyRing(index, current, roots, source)


_cache: dict[tuple, KeyRing] = {}


def key_file() -> Path:
    return Path(settings.FIELD_KEY_FILE)


def from_environment() -> bool:
    return bool(os.environ.get(ENV_VAR))


def current_ring() -> KeyRing:
    """The ring in force now (cached; a rewritten file or changed variable is re-read)."""
    env = os.environ.get(ENV_VAR)
    if env:
        stamp: tuple = ("env", env)
        if stamp not in _cache:
            _cache.clear()
            _cache[stamp] = parse(env.encode(), f"${ENV_VAR}")
        return _cache[stamp]
    path = ensure_field_key(key_file())
    info = path.stat()
    stamp = ("file", str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if stamp not in _cache:
        _cache.clear()
        _cache[stamp] = parse(path.read_bytes(), str(path))
    return _cache[stamp]


def write_ring(ring: KeyRing, path: Path | None = None) -> Path:
    """Replace the key file with ``ring`` atomically (mode 0600): a crash leaves the old
    file or the new one, never half of one."""
    path = Path(path or key_file())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    clear_cache()
    return path


def clear_cache() -> None:
    """Forget the cached ring (tests that switch key files; after writing the file)."""
    _cache.clear()

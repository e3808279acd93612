"""Field encryption — 字段加密: one string sealed for one named purpose.

A token reads ``v1.<kid>.<alg>.<base64url(nonce ‖ ciphertext ‖ tag)>``:

- ``kid`` names the key in the ring (``keyring``) so keys can rotate: new tokens use the
  current key, old ones still open under their retired key until ``wangge rotate-key`` has
  re-sealed them;
- ``alg`` is ``a256gcm`` (AES-256-GCM, the "standard" suite) or ``sm4gcm`` (SM4-GCM, the
  national suite 国密, ``WANGGE_CRYPTO_SUITE=gm``). New tokens follow the configured suite;
  any token opens whatever the suite, so switching suites breaks nothing (``rotate-key``
  re-seals the old ones when wanted);
- a fresh random 96-bit nonce every time, so equal values give unequal tokens;
- the associated data binds the version, key id, algorithm and purpose: a token sealed for
  ``phone`` does not open as an ``id_number``, nor with a rewritten header.

The cipher key for (key, algorithm) is derived from the key's root secret with HKDF
(SHA-256 for AES, SM3 for SM4): one root never feeds two algorithms the same bytes.
Everything is ``cryptography``'s primitives; a token that fails to open raises
``TamperedToken``, an unknown key id ``UnknownKey``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import TamperedToken
from .keyring import KeyRing, current_ring

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


def _aes_seal(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, data, aad)


def _aes_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(nonce, sealed, aad)


def _sm4_seal(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(data) + enc.finalize()
    return body + enc.tag


def _sm4_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < TAG_BYTES:
        raise InvalidTag
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


@dataclass(frozen=True)
class Algorithm:
    """One authenticated cipher: key length, the hash its key is derived with, seal/open."""

    name: str
    key_bytes: int
    kdf_hash: Callable[[], hashes.HashAlgorithm]
    seal: Callable[[bytes, bytes, bytes, bytes], bytes]
    open: Callable[[bytes, bytes, bytes, bytes], bytes]


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a for a in (
        Algorithm("a256gcm", 32, hashes.SHA256, _aes_seal, _aes_open),
        Algorithm("sm4gcm", 16, hashes.SM3, _sm4_seal, _sm4_open),
    )
}
# What each suite (settings.CRYPTO_SUITE) seals new tokens with.
SUITES: dict[str, str] = {"standard": "a256gcm", "gm": "sm4gcm"}


def suite_algorithm() -> Algorithm:
    suite = settings.CRYPTO_SUITE
    if suite not in SUITES:
        raise ImproperlyConfigured(
            f"WANGGE_CRYPTO_SUITE is {suite!r}; it must be one of {', '.join(SUITES)}")
    return ALGORITHMS[SUITES[suite]]


@functools.lru_cache(maxsize=64)
def _cipher_key(root: bytes, alg: str) -> bytes:
    spec = ALGORITHMS[alg]
    return HKDF(algorithm=spec.kdf_hash(), length=spec.key_bytes, salt=None,
                info=f"wangge field encryption/{alg}".encode()).derive(root)


def _aad(kid: str, alg: str, purpose: str) -> bytes:
    return f"wangge|{VERSION}|{kid}|{alg}|{purpose}".encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(plaintext: str, purpose: str, *, ring: KeyRing | None = None) -> str:
    """Seal ``plaintext`` for ``purpose`` under the ring's current key and the suite's
    algorithm."""
    if not purpose:
        raise ValueError("a purpose is required (it is bound into the token)")
    ring = ring or current_ring()
    alg = suite_algorithm()
    kid = ring.current
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = alg.seal(_cipher_key(ring.root(kid), alg.name), nonce, plaintext.encode("utf-8"),
                      _aad(kid, alg.name, purpose))
    return f"{VERSION}.{kid}.{alg.name}.{_b64(nonce + sealed)}"


@dataclass(frozen=True)
class TokenHeader:
    kid: str
    alg: str


def header(token: str) -> TokenHeader:
    """The key id and algorithm a token names (``TamperedToken`` if it is not a token)."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION or parts[2] not in ALGORITHMS:
        raise TamperedToken("not a v1 field token")
    return TokenHeader(parts[1], parts[2])


def decrypt(token: str, purpose: str, *, ring: KeyRing | None = None) -> str:
    """Open a token sealed for ``purpose``; ``UnknownKey`` or ``TamperedToken`` otherwise."""
    head = header(token)
    ring = ring or current_ring()
    root = ring.root(head.kid)  # UnknownKey before any work
    try:
        blob = _unb64(token.rsplit(".", 1)[1])
    except (binascii.Error, ValueError):
        raise TamperedToken("the token's body is not base64") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise TamperedToken("the token is truncated")
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    spec = ALGORITHMS[head.alg]
    try:
        data = spec.open(_cipher_key(root, head.alg), nonce, sealed,
                         _aad(head.kid, head.alg, purpose))
    except InvalidTag:
        raise TamperedToken(f"the token does not open for {purpose!r} (altered, or sealed "
                            "for another purpose)") from None
    return data.decode("utf-8")


def current_prefix(ring: KeyRing | None = None) -> str:
    """How every token sealed now begins: the current key and the suite's algorithm. A token
    that begins otherwise is what ``rotate-key`` re-seals (after a rotation, or after the
    suite was switched)."""
    ring = ring or current_ring()
    return f"{VERSION}.{ring.current}.{suite_algorithm().name}."

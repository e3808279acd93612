"""Field encryption: both suites, tampering, unknown keys, the key ring's sources."""

from __future__ import annotations

import base64
import json
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.privacy import crypto, keyring
from wangge.privacy.errors import KeyRingError, TamperedToken, UnknownKey

SUITES = [("standard", "a256gcm"), ("gm", "sm4gcm")]


@pytest.mark.parametrize(("suite", "alg"), SUITES)
def test_round_trip_on_each_suite(settings, suite, alg):
    settings.CRYPTO_SUITE = suite
    token = crypto.encrypt("370102199003071234 张三", "id_number")
    version, kid, named_alg, body = token.split(".")
    assert (version, kid, named_alg) == ("v1", "k0", alg)
    assert "3701" not in body
    assert crypto.decrypt(token, "id_number") == "370102199003071234 张三"


@pytest.mark.parametrize(("suite", "alg"), SUITES)
def test_a_fresh_nonce_each_time(settings, suite, alg):
    settings.CRYPTO_SUITE = suite
    one, two = crypto.encrypt("13812345678", "phone"), crypto.encrypt("13812345678", "phone")
    assert one != two
    assert crypto.decrypt(one, "phone") == crypto.decrypt(two, "phone") == "13812345678"


def test_tokens_of_either_suite_open_whatever_the_suite_now(settings):
    settings.CRYPTO_SUITE = "gm"
    sm4 = crypto.encrypt("x", "phone")
    settings.CRYPTO_SUITE = "standard"
    assert crypto.decrypt(sm4, "phone") == "x"
    assert not sm4.startswith(crypto.current_prefix())  # rotate-key would re-seal it


def test_unknown_suite_is_a_configuration_error(settings):
    settings.CRYPTO_SUITE = "rot13"
    with pytest.raises(ImproperlyConfigured, match="WANGGE_CRYPTO_SUITE"):
        crypto.encrypt("x", "phone")


def _flip(token: str, at: int) -> str:
    head, body = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[at] ^= 0x01
    return f"{head}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(("suite", "alg"), SUITES)
@pytest.mark.parametrize("at", [0, 12, -1])  # nonce, ciphertext, tag
def test_a_tampered_token_raises_never_garbage(settings, suite, alg, at):
    settings.CRYPTO_SUITE = suite
    token = crypto.encrypt("13812345678", "phone")
    with pytest.raises(TamperedToken):
        crypto.decrypt(_flip(token, at), "phone")


@pytest.mark.parametrize(("suite", "alg"), SUITES)
def test_a_token_does_not_open_for_another_purpose_or_header(settings, suite, alg):
    settings.CRYPTO_SUITE = suite
    token = crypto.encrypt("13812345678", "phone")
    with pytest.raises(TamperedToken, match="another purpose"):
        crypto.decrypt(token, "id_number")
    other = "sm4gcm" if alg == "a256gcm" else "a256gcm"
    with pytest.raises(TamperedToken):
        crypto.decrypt(token.replace(f".{alg}.", f".{other}."), "phone")


@pytest.mark.parametrize("bad", ["", "v1.k0.a256gcm", "v2.k0.a256gcm.AAAA", "v1.k0.des.AAAA",
                                 "v1.k0.a256gcm.AAAA", "v1.k0.a256gcm.!!!"])
def test_malformed_tokens_are_named(bad):
    with pytest.raises(TamperedToken):
        crypto.decrypt(bad, "phone")


def test_a_token_under_an_unknown_key_id(key_file):
    token = crypto.encrypt("13812345678", "phone")
    with pytest.raises(UnknownKey, match="k7") as caught:
        crypto.decrypt(token.replace("v1.k0.", "v1.k7."), "phone")
    assert caught.value.kid == "k7"


def test_a_fresh_key_file_is_the_ring_k0(key_file):
    ring = keyring.current_ring()
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert ring.current == "k0" and ring.retired == [] and ring.roots["k0"] == ring.index_root


def test_a_ring_in_the_environment_wins_over_the_file(key_file, monkeypatch):
    file_token = crypto.encrypt("a", "phone")
    env_ring = keyring.current_ring().with_new_key()
    monkeypatch.setenv(keyring.ENV_VAR, env_ring.to_json())
    token = crypto.encrypt("b", "phone")
    assert token.startswith("v1.k1.")
    assert crypto.decrypt(file_token, "phone") == "a"  # k0 is retired, still in the ring
    assert keyring.current_ring().source == f"${keyring.ENV_VAR}"


@pytest.mark.parametrize(("content", "message"), [
    (b"short", "neither 32 raw bytes nor a JSON key ring"),
    (json.dumps({"format": "other"}).encode(), "format must be"),
    (json.dumps({"format": keyring.FORMAT, "index": "AA==", "current": "k0",
                 "keys": {"k0": "AA=="}}).encode(), "not 32 bytes"),
    (json.dumps({"format": keyring.FORMAT, "index": base64.b64encode(os.urandom(32)).decode(),
                 "current": "k2", "keys": {}}).encode(), "current key 'k2' is not in"),
])
def test_a_broken_ring_is_named_without_its_keys(key_file, content, message):
    key_file.write_bytes(content)
    with pytest.raises(KeyRingError, match=message) as caught:
        keyring.current_ring()
    assert str(key_file) in str(caught.value)


def test_running_processes_see_a_rewritten_key_file(key_file):
    assert crypto.encrypt("x", "phone").startswith("v1.k0.")
    # Another process (rotate-key) rewrites the file; this one's cache notices by its stamp.
    key_file.write_text(keyring.current_ring().with_new_key().to_json())
    assert crypto.encrypt("x", "phone").startswith("v1.k1.")


def test_the_ring_is_written_atomically_and_private(key_file):
    keyring.write_ring(keyring.current_ring().with_new_key())
    assert json.loads(key_file.read_text())["current"] == "k1"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]

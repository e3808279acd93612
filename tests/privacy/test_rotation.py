"""``wangge rotate-key``: new key, every row re-sealed, indexes kept, resumable."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.privacy.testmodels import Resident
from wangge.audit.models import AuditRecord
from wangge.privacy import crypto, keyring, kinds, rotation

pytestmark = pytest.mark.django_db

PHONES = [f"139{n:08d}" for n in range(1, 6)]
ADDRESS = "历下区阳光花园3号楼2单元501室"


@pytest.fixture
def residents():
    rows = [Resident.objects.create(label=f"r{i}", region_path="37.", phone=p,
                                    address=ADDRESS if i % 2 else "")
            for i, p in enumerate(PHONES)]
    Resident.objects.create(label="nobody", region_path="37.")  # nothing to re-seal
    return rows


def _snapshot():
    return {r.pk: (r.phone_cipher, r.phone_index, r.phone_masked, r.address_cipher,
                   r.address_index) for r in Resident.objects.all()}


def _clear_values():
    return {r.pk: (kinds.open_cipher("phone", r.phone_cipher),
                   kinds.open_cipher("address", r.address_cipher))
            for r in Resident.objects.all()}


def _kids(column="phone_cipher"):
    return sorted({t.split(".")[1] for t in Resident.objects.values_list(column, flat=True) if t})


def _rotate(*args):
    out = io.StringIO()
    call_command("rotate_key", *args, stdout=out)
    return out.getvalue()


def test_rotate_key_reseals_every_row_and_keeps_indexes(residents, key_file):
    legacy = key_file.read_bytes()
    before, clear = _snapshot(), _clear_values()
    old_token = kinds.protect("phone", PHONES[0]).cipher

    out = _rotate("--batch-size", "2")

    assert "privacy.resident: 2/5 rows" in out and "privacy.resident: 5/5 rows" in out
    assert "new current key k1" in out and "re-sealed 7 values under k1" in out
    assert _kids() == _kids("address_cipher") == ["k1"]
    assert _clear_values() == clear
    after = _snapshot()
    for pk, (cipher, index, masked, _address_cipher, address_index) in after.items():
        old = before[pk]
        assert (index, masked, address_index) == (old[1], old[2], old[4])  # never re-indexed
        assert cipher != old[0] or not cipher
    ring = json.loads(key_file.read_text())
    assert ring["current"] == "k1" and set(ring["keys"]) == {"k0", "k1"}
    # The index key is the fresh installation's key, unchanged: old indexes still find rows.
    assert keyring.current_ring().index_root == legacy
    assert Resident.objects.filter(Resident.phone.lookup(PHONES[3])).get().label == "r3"
    # A token written before the rotation still opens; new ones use the new key.
    assert kinds.open_cipher("phone", old_token) == PHONES[0]
    assert kinds.protect("phone", PHONES[0]).cipher.startswith("v1.k1.a256gcm.")
    actions = list(AuditRecord.objects.filter(action__startswith="privacy.")
                   .order_by("seq").values_list("action", "object_id"))
    assert actions == [("privacy.rotate_key", "k1"), ("privacy.reencrypt", "k1")]


def test_an_interrupted_rotation_is_finished_by_the_next_run(residents, key_file):
    clear = _clear_values()

    def crash_after_first_batch(progress):
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(batch_size=2, progress=crash_after_first_batch)
    phones = list(Resident.objects.order_by("pk").values_list("phone_cipher", flat=True))
    assert [t.split(".")[1] for t in phones if t] == ["k1", "k1", "k0", "k0", "k0"]
    assert rotation.pending() == {"privacy.resident": 3}
    assert _clear_values() == clear  # both keys open meanwhile

    out = _rotate()

    assert "an unfinished rotation: privacy.resident 3 rows not under k1" in out
    assert "new current key" not in out
    assert _kids() == _kids("address_cipher") == ["k1"]
    assert json.loads(key_file.read_text())["current"] == "k1"  # no k2 from the second run
    assert rotation.pending() == {}
    assert _clear_values() == clear
    # With nothing left over, the next run starts a new rotation.
    assert "new current key k2" in _rotate()
    assert _kids() == ["k2"]


def test_status_counts_tokens_per_key(residents, key_file):
    keyring.write_ring(keyring.current_ring().with_new_key())
    out = _rotate("--status")
    assert "privacy.resident.phone: 0 under k1 (current)" in out
    assert "privacy.resident.phone: 5 under k0" in out
    assert "privacy.resident.address: 2 under k0" in out
    assert "left to re-seal: privacy.resident 5 rows" in out
    assert _kids() == ["k0"]  # --status writes nothing
    assert "every protected value is under k1" in _rotate("--resume")
    assert "nothing left to re-seal" in _rotate("--status")


def test_a_value_that_does_not_open_is_reported_and_the_rest_rotated(residents, key_file):
    broken = residents[2]
    Resident.objects.filter(pk=broken.pk).update(phone_cipher=broken.phone_cipher[:-4] + "AAAA")
    with pytest.raises(CommandError, match=rf"privacy.resident #{broken.pk} phone: "
                                           "TamperedToken") as caught:
        _rotate()
    assert PHONES[2] not in str(caught.value)
    tokens = dict(Resident.objects.values_list("pk", "phone_cipher"))
    assert tokens[broken.pk].startswith("v1.k0.")
    assert all(t.startswith("v1.k1.") for pk, t in tokens.items() if pk != broken.pk and t)


def test_a_ring_in_the_environment_is_printed_not_written(residents, key_file, monkeypatch):
    monkeypatch.setenv(keyring.ENV_VAR, keyring.current_ring().to_json())
    file_before = key_file.read_bytes()

    out = _rotate()

    assert f"${keyring.ENV_VAR}" in out and "wangge rotate-key --resume" in out
    assert key_file.read_bytes() == file_before and _kids() == ["k0"]
    printed = out[out.index("{"):]
    monkeypatch.setenv(keyring.ENV_VAR, printed)  # the operator sets it and restarts
    assert "every protected value is under k1" in _rotate("--resume")
    assert _kids() == ["k1"]


def test_switching_to_the_national_suite_reseals_with_sm4(residents, settings):
    settings.CRYPTO_SUITE = "gm"
    clear = _clear_values()
    assert rotation.pending() == {"privacy.resident": 5}
    _rotate("--resume")
    assert {t.split(".")[2] for t in Resident.objects.values_list("phone_cipher", flat=True)
            if t} == {"sm4gcm"}
    assert _clear_values() == clear
    assert crypto.current_prefix() == "v1.k0.sm4gcm."


def test_bad_batch_size(residents):
    with pytest.raises(CommandError, match="--batch-size"):
        _rotate("--batch-size", "0")

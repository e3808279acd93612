"""The kinds: ID numbers (GB 11643), phones, addresses, names — checks, masks, indexes."""

from __future__ import annotations

import csv
import datetime
import re
from pathlib import Path

import pytest
from django.utils import timezone

from wangge.privacy import kinds
from wangge.privacy.errors import InvalidValue
from wangge.privacy.idnumbers import PROVINCES, parse_id_number

# The example number printed in GB 11643-1999 itself: born 1949-12-31, check character X.
STANDARD_EXAMPLE = "11010519491231002X"


def with_check(first17: str) -> str:
    """An independent check-character computation, written from the standard's formula."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def test_the_standards_own_example_is_valid_with_x():
    info = parse_id_number(kinds.clean("id_number", STANDARD_EXAMPLE.lower()))
    assert info.birth_date == datetime.date(1949, 12, 31)
    assert info.sex == "female"  # sequence 002 is even
    assert info.address_code == "110105"


def test_a_wrong_check_digit_says_which_it_should_be():
    with pytest.raises(InvalidValue, match="the check digit should be X, not 1"):
        kinds.clean("id_number", "110105194912310021")
    good = with_check("37010219900307123")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidValue, match=f"should be {good[17]}"):
        kinds.clean("id_number", wrong)
    assert kinds.clean("id_number", good) == good


def test_typing_noise_is_tidied():
    good = with_check("37010219900307123")
    typed = "３７０１０２ 1990-0307-" + good[14:]
    assert kinds.clean("id_number", typed) == good


def test_the_old_15_digit_form_is_upgraded_to_the_same_person():
    old = "370102900307123"  # 1990-03-07, sequence 123, no check character
    new = with_check("37010219900307123")
    assert kinds.clean("id_number", old) == new
    assert kinds.index_for("id_number", old) == kinds.index_for("id_number", new)


@pytest.mark.parametrize(("first17", "message"), [
    ("37010219900230123", "not a real date of birth"),  # 30 February
    ("37010219901301123", "not a real date of birth"),  # month 13
    ("37010218991231123", "before 1900"),
    ("99010219900307123", "(digits 2–3) is not a province code"),
    ("70010219900307123", "70 (the first 2 digits) is not a province code"),
    ("37000019900307123", "a whole province, not a county"),
    ("81010019900307123", "residence permit number begins 810000"),
])
def test_bad_dates_and_regions_are_named(first17, message):
    with pytest.raises(InvalidValue, match=re.escape(message)):
        kinds.clean("id_number", with_check(first17))


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(InvalidValue, match="in the future"):
        kinds.clean("id_number", with_check(f"370102{tomorrow:%Y%m%d}123"))


@pytest.mark.parametrize(("raw", "message"), [
    ("3701021990030712", "18 characters .* not 16"),
    ("37010219900307123Y", "17 digits and a last digit or X"),
    ("3701021990030712X4", "17 digits and a last digit or X"),
])
def test_the_form_is_named(raw, message):
    with pytest.raises(InvalidValue, match=message):
        kinds.clean("id_number", raw)


def test_permits_and_foreign_residents_cards_are_accepted():
    assert parse_id_number(with_check("81000019900307123")).address_code == "810000"
    assert parse_id_number(with_check("93715619900307123")).birth_date.year == 1990


def test_province_codes_agree_with_the_division_data_we_import():
    shipped = Path(__file__).resolve().parents[2] / "tests/regions/fixtures/divisions"
    full = Path(__file__).resolve().parents[3] / "shared/data/divisions/provinces.csv"
    source = full if full.exists() else shipped / "provinces.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = {r["code"]: r["name"] for r in csv.DictReader(handle)}
    assert rows and all(PROVINCES.get(code) == name for code, name in rows.items())
    if source == full:
        assert set(rows) == set(PROVINCES)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "19912345678",
                                 "0531-86123456", "0531-8612345", "010 86123456",
                                 "021-62345678"])
def test_valid_phones(raw):
    assert kinds.clean("phone", raw)


@pytest.mark.parametrize(("raw", "message"), [
    ("12812345678", "a mobile number has 11 digits and starts with 13 to 19"),
    ("1381234567", "a mobile number has 11 digits"),
    ("86123456", "needs its area code"),
    ("010-8612345", "after the area code 010 a landline number has 8 digits"),
    ("0531-0612345", "after the area code 0531"),
    ("0086123456789", "is not an area code"),
    ("4008001234", "service numbers"),
    ("95588", "service numbers"),
    ("138abc", "is not a phone number"),
])
def test_bad_phones_are_named(raw, message):
    with pytest.raises(InvalidValue, match=message):
        kinds.clean("phone", raw)


@pytest.mark.parametrize(("kind", "raw", "masked"), [
    ("id_number", "370102199003071234", "3701**********1234"),
    ("id_number", STANDARD_EXAMPLE, "1101**********002X"),
    ("phone", "13812345678", "138****5678"),
    ("phone", "+86 138-1234-5678", "138****5678"),
    ("address", "山东省济南市历下区阳光花园3号楼2单元501室", "山东省济南市历下区阳光花园3号楼***"),
    ("address", "历下区文化东路幸福小区12-3-501", "历下区文化东路幸福小区***"),
    ("address", "历城区港沟街道东风村128号", "历城区港沟街道东风村***"),
    ("address", "历下区解放路123号", "历下区解放路***"),
    ("address", "历下区阳光花园", "历下区阳光花园"),
    ("address", "12-3-501", "***"),
    ("name", "张三", "张*"),
    ("name", "欧阳小明", "欧**明"),
    ("name", "张 小 明", "张*明"),
])
def test_masks(kind, raw, masked):
    assert kinds.mask(kind, raw) == masked


def test_protect_seals_indexes_and_masks(key_file):
    p = kinds.protect("id_number", STANDARD_EXAMPLE.lower())
    assert p.masked == "1101**********002X"
    assert STANDARD_EXAMPLE not in p.cipher and p.cipher.startswith("v1.k0.a256gcm.")
    assert kinds.open_cipher("id_number", p.cipher) == STANDARD_EXAMPLE
    assert p.index == kinds.index_for("id_number", STANDARD_EXAMPLE) != ""
    assert kinds.protect("id_number", "  ") == kinds.EMPTY


def test_indexes_are_per_purpose_and_shared_with_accounts(key_file):
    from wangge.accounts.services import phone_index

    phone = kinds.protect("phone", "+86 138 1234 5678")
    # A registry phone finds the resident's account and the cases filed for her.
    assert phone.index == phone_index("13812345678")
    # The same characters as another kind give another index.
    assert kinds.index_for("name", "13812345678") != phone.index
    assert kinds.index_for("phone", "not a phone") == ""


def test_bad_values_are_refused_before_anything_is_sealed():
    with pytest.raises(InvalidValue):
        kinds.protect("phone", "12345")
    with pytest.raises(InvalidValue, match="no digits or symbols"):
        kinds.protect("name", "张3")
    with pytest.raises(InvalidValue, match="at most 200"):
        kinds.protect("address", "路" * 201)
    with pytest.raises(ValueError, match="unknown protected kind"):
        kinds.protect("passport", "E1234")

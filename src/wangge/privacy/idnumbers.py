"""Citizen ID numbers — 公民身份号码 (GB 11643-1999): read, check, mask.

18 characters: a 6-digit address code (the county of household registration when the
number was issued), the date of birth YYYYMMDD, a 3-digit sequence (odd for men, even for
women) and a check character computed with ISO 7064 MOD 11-2 (``X`` stands for 10).

What is checked, each failure with its own message:

- the form: 17 digits and a digit or ``X`` (``x`` is read as ``X``; full-width characters,
  spaces and dashes are tidied away first);
- the address code's province (first two digits) against the national division codes
  (``PROVINCES``, copied from the statistical division data we import, plus 81/82/83 for
  the residence permits of Hong Kong, Macao and Taiwan residents, whose code is 810000,
  820000, 830000). The other four digits are not checked against today's county list:
  counties merged or renamed since keep their old codes on numbers already issued;
  a mainland code ending in 0000 names a whole province, never a county, and is refused;
- the date of birth: a real day, from 1900-01-01, not after today;
- the check character ("the check digit should be 7, not 3").

The old 15-digit form (first-generation cards, before 1999; YYMMDD in the 20th century,
no check character) is accepted and upgraded to the 18-character form by the standard's
own rule (insert ``19``, compute the check character), so the same person found in an old
departmental list and a new one gets the same blind index.

Foreign permanent residents' 2023 cards (18 characters beginning with 9, then the issuing
province, a nationality code, the date of birth at the same place, the same check rule) are
accepted with the province read from the 2nd and 3rd digits.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import InvalidValue

WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
CHECK_CHARS = "10X98765432"  # indexed by (Σ digit × weight) mod 11
EARLIEST_BIRTH = datetime.date(1900, 1, 1)
FORM_RE = re.compile(r"[0-9]{17}[0-9X]")
OLD_FORM_RE = re.compile(r"[0-9]{15}")

# Province-level division codes (统计用区划代码, cut-off 2022-10-31; provinces.csv).
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省",
    "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}
# Residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证).
PERMIT_PREFIXES: dict[str, str] = {"81": "香港", "82": "澳门", "83": "台湾"}


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    """Tidy what was typed: full-width to half-width, spaces and dashes out, ``x`` → ``X``;
    a 15-digit old number becomes its 18-character form. Not a check: see ``validate``."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = re.sub(r"[\s\-]", "", text).upper()
    if OLD_FORM_RE.fullmatch(text):
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_character(first17)
    return text


@dataclass(frozen=True)
class IdNumber:
    """What a valid number says: where it was issued, the date of birth and the sex."""

    address_code: str
    birth_date: datetime.date
    sex: str  # "male" | "female"


def _province_problem(value: str) -> str | None:
    if value.startswith("9"):  # foreign permanent resident: 9, then the issuing province
        code = value[1:3]
        if code not in PROVINCES:
            return _("%(code)s (digits 2–3) is not a province code") % {"code": code}
        return None
    code = value[:2]
    if code in PERMIT_PREFIXES:
        if value[2:6] != "0000":
            return _("a residence permit number begins %(code)s0000") % {"code": code}
        return None
    if code not in PROVINCES:
        return _("%(code)s (the first 2 digits) is not a province code") % {"code": code}
    if value[2:6] == "0000":
        return _("the first 6 digits name a whole province, not a county")
    return None


def _birth_date(value: str) -> datetime.date:
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidValue(_("digits 7 to 14 are not a real date of birth")) from None
    if born < EARLIEST_BIRTH:
        raise InvalidValue(_("the date of birth (digits 7 to 14) is before 1900"))
    if born > timezone.localdate():
        raise InvalidValue(_("the date of birth (digits 7 to 14) is in the future"))
    return born


def parse_id_number(value: str) -> IdNumber:
    """Check a normalised number; raise ``InvalidValue`` naming the first thing wrong."""
    if len(value) != 18:
        raise InvalidValue(_("an ID number has 18 characters (or 15 in the old form), not "
                             "%(n)d") % {"n": len(value)})
    if not FORM_RE.fullmatch(value):
        raise InvalidValue(_("an ID number is 17 digits and a last digit or X"))
    problem = _province_problem(value)
    if problem:
        raise InvalidValue(problem)
    born = _birth_date(value)
    expected = check_character(value[:17])
    if value[17] != expected:
        raise InvalidValue(_("the check digit should be %(expected)s, not %(given)s")
                           % {"expected": expected, "given": value[17]})
    return IdNumber(value[:6], born, "male" if int(value[16]) % 2 else "female")


def validate_id_number(value: str) -> None:
    parse_id_number(value)


def mask_id_number(value: str) -> str:
    """3701**********1234: the province and city, and the last four (sequence and check)."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]

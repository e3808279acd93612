"""Phone numbers — 电话号码: one reading of what a person typed, one check, one mask.

``phone_digits`` reads leniently (what a hotline operator or a resident types: spaces,
dashes, +86) and is what blind indexes are computed on, so the same number typed two ways
finds the same record. ``validate_phone`` is the strict rule for a person's number kept in
the registry: a mainland mobile (1[3-9] and 9 more digits) or a landline with its area code
(区号: 010 and 02x are followed by 8 digits, 03xx–09xx by 7 or 8; the local number never
starts with 0 or 1). Service numbers (400/800, 95xxx) and bare local numbers are refused:
they do not identify a person, or not without the city.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from .errors import InvalidValue

PHONE_RE = re.compile(r"\+?[0-9][0-9 \-]{3,22}")
MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


class PhoneError(InvalidValue):
    """A phone number that cannot be read; the message says why, without echoing it whole."""


def phone_digits(raw: str) -> str:
    """The digits that identify a number: spaces, dashes and a +86 country code dropped.

    Empty input gives ``""``. Anything that is not a phone number raises ``PhoneError``.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    if not PHONE_RE.fullmatch(text):
        raise PhoneError(_("%(start)s… is not a phone number (digits, spaces, '-' and a "
                           "leading '+' only)") % {"start": text[:3]})
    digits = re.sub(r"\D", "", text)
    if text.startswith("+86") or (len(digits) == 13 and digits.startswith("86")):
        digits = digits[2:]  # the country code says nothing about the person
    if not 5 <= len(digits) <= 15:
        raise PhoneError(_("a phone number has 5 to 15 digits, not %(n)d") % {"n": len(digits)})
    return digits


def mask_digits(digits: str) -> str:
    """13812345678 → 138****5678; short (landline, extension) numbers keep only their tail."""
    if not digits:
        return ""
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    keep = 4 if len(digits) >= 8 else 2
    return "*" * (len(digits) - keep) + digits[-keep:]


def _area_code_length(digits: str) -> int:
    """010 and 02x are three digits long, 03xx–09xx four; 00 is an international prefix."""
    if len(digits) < 3 or digits[1] == "0":
        return 0
    return 3 if digits[1] in "12" else 4


def validate_phone(digits: str) -> None:
    """Raise ``PhoneError`` naming what is wrong unless ``digits`` (from ``phone_digits``) is
    a mainland mobile or a landline with its area code."""
    if digits.startswith("1"):
        if not MOBILE_RE.fullmatch(digits):
            raise PhoneError(_("a mobile number has 11 digits and starts with 13 to 19"))
        return
    if not digits.startswith("0"):
        if len(digits) in (7, 8) and digits[0] in "2345678":
            raise PhoneError(_("a landline number needs its area code (区号), e.g. 0531"))
        raise PhoneError(_("not a mobile or landline number (service numbers such as 400 "
                           "and 95xxx do not identify a person)"))
    area = _area_code_length(digits)
    if not area:
        raise PhoneError(_("%(start)s is not an area code") % {"start": digits[:3]})
    local = digits[area:]
    allowed = (8,) if area == 3 else (7, 8)
    if len(local) not in allowed or local[0] in "01":
        raise PhoneError(
            _("after the area code %(area)s a landline number has %(n)s digits, not "
              "starting with 0 or 1") % {"area": digits[:area],
                                         "n": "8" if area == 3 else _("7 or 8")})

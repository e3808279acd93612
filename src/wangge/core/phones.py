"""Phone numbers — 电话号码: one reading of what a person typed, and one way to mask it."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

PHONE_RE = re.compile(r"\+?[0-9][0-9 \-]{3,22}")


class PhoneError(ValueError):
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

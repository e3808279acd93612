"""What can go wrong with protected values, as named exceptions (never garbage, never a value)."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base of the privacy errors."""


class KeyRingError(PrivacyError):
    """The key ring cannot be read or is malformed (the message names the source, no key)."""


class UnknownKey(PrivacyError):
    """A token names a key id the ring does not hold (retired too early, or a foreign token)."""

    def __init__(self, kid: str):
        super().__init__(f"no key {kid!r} in the field-key ring")
        self.kid = kid


class TamperedToken(PrivacyError):
    """A token that does not decrypt: altered, truncated, or sealed for another purpose."""


class InvalidValue(ValueError):
    """A personal value that fails its kind's rule; the message says what is wrong without
    echoing the value whole."""

"""Phone numbers: moved to ``wangge.privacy.phones`` (one place for the rule).

Kept so existing imports go on working; new code imports from ``wangge.privacy``.
"""

from wangge.privacy.phones import PHONE_RE, PhoneError, mask_digits, phone_digits

__all__ = ["PHONE_RE", "PhoneError", "mask_digits", "phone_digits"]

"""Keyed blind indexes: moved to ``wangge.privacy.blind`` (one place for the rule).

Kept so existing imports go on working; new code imports from ``wangge.privacy``.
"""

from wangge.privacy.blind import blind_index, clear_cache

__all__ = ["blind_index", "clear_cache"]

"""Pinyin of names — 拼音: the key that makes homophone typos (同音字) comparable.

A clerk who types 张玮 for 张伟 picks the wrong character for the right sound: the names
differ, their toneless pinyin does not. Pinyin is taken character by character (not from
phrase dictionaries) so the same character always gives the same syllable, in the engine and
in the synthetic population alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """The toneless pinyin of one character; anything that is not Chinese, lower-cased."""
    syllables = lazy_pinyin(ch, style=Style.NORMAL, errors=lambda chars: chars.lower())
    return syllables[0] if syllables else ch


def syllables(name: str) -> list[str]:
    """One syllable per character of ``name``."""
    return [char_pinyin(ch) for ch in name]


def homophones(chars: Iterable[str]) -> dict[str, list[str]]:
    """For each toneless syllable, the characters among ``chars`` that sound like it."""
    out: dict[str, list[str]] = {}
    for ch in chars:
        out.setdefault(char_pinyin(ch), []).append(ch)
    return out


def common_characters() -> list[str]:
    """The 3,755 level-1 characters of GB 2312 (一级汉字): the ones clerks actually type."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars

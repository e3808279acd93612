"""Simplified Chinese is the default language: every message of the catalogue is translated."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import wangge

CATALOGUE = Path(wangge.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


MSGFMT = shutil.which("msgfmt")


@pytest.mark.skipif(MSGFMT is None, reason="gettext's msgfmt is not installed")
def test_every_message_has_a_checked_chinese_translation():
    # A fuzzy entry is a guess gettext leaves out: the page would show the English words.
    stats = subprocess.run(  # noqa: S603 -- gettext's own checker, fixed arguments
        [MSGFMT, "--check", "--statistics", "-o", "/dev/null", str(CATALOGUE)],
        capture_output=True, text=True, check=True).stderr
    assert "fuzzy" not in stats and "untranslated" not in stats, stats
    assert "translated messages" in stats

"""Duplicate suggestion — 重复件提示: cases that look like the same matter, for a merge.

Two reports are likely the same matter when they are of the same category, close in place and
time, both still open, and say similar things. Text similarity is the Jaccard index of the
character bigrams of title + description: Chinese needs no tokenizer for this, and a bigram
survives the small rewordings two reporters make ("井盖丢失" / "丢失井盖").

The database narrows candidates with indexed columns (category, created_at) and a lon/lat box
around the case; exact distance and similarity are then computed on that handful in Python.
Settings: DUPLICATE_METRES (100), DUPLICATE_HOURS (72), DUPLICATE_MIN_SIMILARITY (0.3).
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from wangge.accounts.scope import visible_to
from wangge.regions.geometry import distance_m

from .models import Case
from .workflow import OPEN_STATES

METRES_PER_DEGREE_LAT = 111_320.0
# A hotspot (a market street on a busy day) can gather many open cases of one category in a
# small box; past this many the oldest are not compared.
MAX_CANDIDATES = 1000



def _normalise(text: str) -> str:
    """Letters and digits only, width- and case-folded: punctuation and spaces say nothing."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the normalised text (a one-character text is its own gram)."""
    s = _normalise(text)
    if len(s) < 2:
        return frozenset({s}) if s else frozenset()
    return frozenset(s[i:i + 2] for i in range(len(s) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard index of the two texts' character bigrams, 0 (nothing shared) to 1."""
    ga, gb = bigrams(a), bigrams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


def _text(case: Case) -> str:
    return f"{case.title} {case.description or ''}"


def suggest_duplicates(case: Case, *, metres: float | None = None, hours: float | None = None,
                       limit: int = 5, min_similarity: float | None = None,
                       user=None) -> list[Case]:
    """Open cases that may report the same matter as ``case``, most similar first.

    Each suggestion carries ``duplicate_similarity`` (0-1) and ``duplicate_distance_m``.
    ``user`` limits suggestions to cases that user may see (the dispatcher asking). A case
    without a point has nothing to compare by place and gets no suggestions.
    """
    if case.lon is None or case.lat is None or case.category_id is None:
        return []
    metres = float(getattr(settings, "DUPLICATE_METRES", 100.0) if metres is None else metres)
    hours = float(getattr(settings, "DUPLICATE_HOURS", 72.0) if hours is None else hours)
    threshold = float(getattr(settings, "DUPLICATE_MIN_SIMILARITY", 0.3)
                      if min_similarity is None else min_similarity)
    when = case.created_at or timezone.now()
    window = timedelta(hours=hours)
    dlat = metres / METRES_PER_DEGREE_LAT
    # Degrees of longitude shrink with latitude; clamp near the poles (not that grids go there).
    dlon = metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(case.lat)), 0.01))
    qs = Case.objects.filter(
        category_id=case.category_id,
        state__in=[s.value for s in OPEN_STATES],
        created_at__gte=when - window, created_at__lte=when + window,
        lon__gte=case.lon - dlon, lon__lte=case.lon + dlon,
        lat__gte=case.lat - dlat, lat__lte=case.lat + dlat,
    )
    if case.pk is not None:
        qs = qs.exclude(pk=case.pk)
    if user is not None:
        qs = visible_to(qs, user)
    own = bigrams(_text(case))
    scored = []
    for other in qs.order_by("-created_at")[:MAX_CANDIDATES]:
        d = distance_m(case.lon, case.lat, other.lon, other.lat)
        if d > metres:
            continue
        theirs = bigrams(_text(other))
        sim = len(own & theirs) / len(own | theirs) if own and theirs else 0.0
        if sim < threshold:
            continue
        other.duplicate_similarity = round(sim, 3)
        other.duplicate_distance_m = round(d, 1)
        scored.append(other)
    # Most similar first; at equal similarity the nearer, then the newer.
    scored.sort(key=lambda c: (-c.duplicate_similarity, c.duplicate_distance_m,
                               -c.created_at.timestamp()))
    return scored[:limit]

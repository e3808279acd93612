"""Refusals of linkage work, with the HTTP answer pages and the API give."""

from __future__ import annotations

from wangge.core.refusals import Refusal


class LinkingError(Refusal):
    """A steward's action refused: ``message`` says why in her words, ``status`` is the
    HTTP answer (400 bad input, 404 not found or out of scope, 409 conflicts with the
    current state). One of the platform's refusals (``core.refusals``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, status=status)

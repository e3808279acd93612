"""Refusals of linkage work, with the HTTP answer pages and the API give."""

from __future__ import annotations


class LinkingError(Exception):
    """A steward's action refused: ``message`` says why in her words, ``status`` is the
    HTTP answer (400 bad input, 404 not found or out of scope, 409 conflicts with the
    current state)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

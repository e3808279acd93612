"""Refusals of the collection-form services — 采集表的拒绝原因, each with an HTTP status.

Pages show ``message`` (and ``errors`` beside the fields they name); the API answers with
the status and the same words, plus ``pointers`` when a form asks for what is already held.
"""

from __future__ import annotations

from wangge.core.refusals import Refusal


class FormError(Refusal):
    """A request the services refuse; nothing was written. One of the platform's refusals
    (``core.refusals``), with what a form's page needs besides the message."""

    status = 422

    def __init__(self, message: str, status: int | None = None, field: str = "",
                 errors: dict[str, str] | None = None,
                 pointers: list[dict] | None = None) -> None:
        super().__init__(message, field=field, status=status)
        # field code → what is wrong with its value (an answer's checks, a build form's inputs)
        self.errors = errors or {}
        # fields already held for every target: where the data is (see ``prefill.pointers``)
        self.pointers = pointers or []

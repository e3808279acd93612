"""Refusals of the collection-form services — 采集表的拒绝原因, each with an HTTP status.

Pages show ``message`` (and ``errors`` beside the fields they name); the API answers with
the status and the same words, plus ``pointers`` when a form asks for what is already held.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class FormError(Exception):
    """A request the services refuse; nothing was written."""

    message: str
    status: int = 422
    field: str = ""
    # field code → what is wrong with its value (an answer's checks, a build form's inputs)
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    # fields already held for every target: where the data is (see ``prefill.pointers``)
    pointers: list[dict] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        return self.message

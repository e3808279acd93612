"""Errors of the case services, each carrying the HTTP status the API answers with.

Services raise these; the API maps ``status`` and ``message`` to the response unchanged, so the
words a user reads are written once, here and where they are raised.
"""

from __future__ import annotations


class CaseError(Exception):
    """A refusal with an HTTP status and a message that says what to do about it."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class CaseNotFound(CaseError):
    """Missing, or out of the actor's scope: the two answer alike so guessing tells nothing."""

    status = 404


class CaseForbidden(CaseError):
    """The actor's role or department may not do this to this case."""

    status = 403


class CaseConflict(CaseError):
    """Not allowed in the case's current state, or someone else changed it first."""

    status = 409


class CaseInvalid(CaseError):
    """An input is missing or wrong; ``field`` names it."""

    status = 422


class PhotoTooLarge(CaseError):
    status = 413


class PhotoUnsupported(CaseError):
    status = 415

"""Errors of the case services, each carrying the HTTP status the API answers with.

Services raise these; the API maps ``status`` and ``message`` to the response unchanged, so the
words a user reads are written once, here and where they are raised.
"""

from __future__ import annotations

from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal


class CaseError(Refusal):
    """A case service's refusal: one of the platform's refusals (``core.refusals``), kept as
    a family of its own so callers can tell a case's "no" from others."""


class CaseNotFound(CaseError, NotFound):
    """Missing, or out of the actor's scope: the two answer alike so guessing tells nothing."""

    status = 404


class CaseForbidden(CaseError, Forbidden):
    """The actor's role or department may not do this to this case."""

    status = 403


class CaseConflict(CaseError, Conflict):
    """Not allowed in the case's current state, or someone else changed it first."""

    status = 409


class CaseInvalid(CaseError, Invalid):
    """An input is missing or wrong; ``field`` names it."""

    status = 422


class PhotoTooLarge(CaseError):
    status = 413


class PhotoUnsupported(CaseError):
    status = 415

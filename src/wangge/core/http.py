"""HTTP helpers shared by the API routers."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Schema, Status
from ninja.errors import HttpError

from .refusals import Refusal


class RefusalOut(Schema):
    """A refusal as the API answers it: the words to show, and the input at fault."""

    detail: str
    field: str = ""


# The statuses a service's refusal answers with, for a route's ``response=``.
REFUSAL_RESPONSES = {403: RefusalOut, 404: RefusalOut, 409: RefusalOut, 422: RefusalOut}


def refusal_response(exc: Refusal) -> Status:
    """A service's refusal as the API's answer: its status, its words, its field."""
    return Status(exc.status, {"detail": exc.message, "field": exc.field})


def read_limited_body(request: HttpRequest, limit: int, error: HttpError) -> bytes:
    """The raw request body, refused with ``error`` past ``limit`` bytes.

    Read from the stream rather than ``request.body``: Django's general 2.5 MB cap is right
    for forms but would refuse an ordinary city's grid layer or a 100,000-point batch, and a
    per-endpoint limit keeps that exception from widening every form on the site.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise error
    body = request.read(limit + 1)
    if len(body) > limit:
        raise error
    return body

"""Privacy API under /api/v1/privacy: reveal a protected value for a stated purpose.

``POST /reveal`` with the record's type (``app_label.model``), id, field and purpose answers
the clear value (never cached: ``Cache-Control: no-store``). Without ``privacy.reveal``:
403; a record missing or outside the caller's subtree: 404; a bad type, field or purpose:
422 naming it. Every answer, refusals included, is on the audit trail.
``GET /purposes`` lists the purposes a reveal may name, for the pages' picker.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Router, Schema

from . import services
from .errors import PrivacyError
from .purposes import DETAIL_MAX, PURPOSES

router = Router(tags=["privacy"])


class RevealIn(Schema):
    object_type: str = Field(..., max_length=80, description="e.g. registry.person")
    object_id: str = Field(..., max_length=40)
    field: str = Field(..., max_length=40, description="a protected field, e.g. id_number")
    purpose: str = Field(..., max_length=40, description="a code from GET /purposes")
    detail: str = Field("", max_length=DETAIL_MAX, description="what for (case number …)")


@router.post("/reveal", url_name="privacy_reveal", openapi_extra={"responses": {
    200: {"description": "the clear value; the reveal is on the audit trail"},
    403: {"description": "no privacy.reveal permission"},
    404: {"description": "no such record in the caller's subtree"},
    422: {"description": "a bad object type, field, purpose or detail, named"}}})
def post_reveal(request: HttpRequest, body: RevealIn):
    try:
        obj, value = services.reveal_reference(
            request.user, body.object_type, body.object_id, body.field, body.purpose,
            detail=body.detail, token=getattr(request, "api_token", None))
    except ValidationError as exc:
        return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)
    except PrivacyError:
        return JsonResponse({"detail": "the stored value cannot be opened; the administrator "
                                       "must check the field-key ring"}, status=500)
    response = JsonResponse({"object_type": body.object_type, "object_id": str(obj.pk),
                             "field": body.field, "value": value,
                             "masked": getattr(obj, f"{body.field}_masked")})
    response["Cache-Control"] = "no-store"
    return response


@router.get("/purposes", url_name="privacy_purposes")
def get_purposes(request: HttpRequest):
    return JsonResponse({"items": [
        {"code": p.code, "label": str(p.label), "needs_detail": p.needs_detail}
        for p in PURPOSES.values()]})

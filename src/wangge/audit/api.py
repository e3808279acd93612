
from datetime import date, datetime

from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from wangge.accounts.permissions import require_permission

from . import filters
from .services import verify_chain

router = Router(tags=["audit"])


class AuditOut(Schema):
    seq: int
    at: datetime
    actor: str
    role: str
    node_code: str
    action: str
    object_type: str
    object_id: str
    purpose: str
    client_ip: str
    hash: str


class AuditFilter(Schema):
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    node: str = ""
    since: date | None = None
    until: date | None = None


class VerifyOut(Schema):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str


@router.get("/records", response=list[AuditOut])
@paginate(LimitOffsetPagination)
def list_records(request, f: Query[AuditFilter]):
    return filters.search(request.user, token=getattr(request, "api_token", None),
                          **f.dict())


@router.get("/verify", response=VerifyOut)
def verify(request):
    require_permission(request.user, "audit.verify", getattr(request, "api_token", None))
    result = verify_chain()
    return VerifyOut(ok=result.ok, checked=result.checked,
                     first_broken_seq=result.first_broken_seq, reason=result.reason)

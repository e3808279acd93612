
from django.core.exceptions import ValidationError
from ninja import Router, Status
from ninja.errors import HttpError

from . import services
from .models import Department
from .permissions import require_permission
from .schemas import DepartmentOut, MeOut, TokenIn, TokenOut
from .scope import visible_to

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
def me(request):
    user = request.user
    return MeOut(
        username=user.username,
        display_name=user.label,
        role=user.role,
        region_code=user.region.code if user.region else None,
        region_name=user.region.name if user.region else None,
        department=user.department.name if user.department else None,
        permissions=services.permissions_of(user),
    )


@router.post("/tokens", response={201: TokenOut})
def issue_token(request, payload: TokenIn):
    try:
        token, secret = services.issue_token(
            request.user, username=payload.user, name=payload.name, scopes=payload.scopes,
            expires_at=payload.expires_at,
        )
    except ValidationError as exc:
        raise HttpError(422, "; ".join(f"{k}: {' '.join(v)}" for k, v in
                                       exc.message_dict.items())) from exc
    return Status(201, TokenOut(id=token.pk, name=token.name, prefix=token.prefix,
                         scopes=token.scopes, expires_at=token.expires_at, token=secret))


@router.delete("/tokens/{token_id}", response={204: None})
def revoke_token(request, token_id: int):
    services.revoke_token(request.user, token_id)
    return Status(204, None)


@router.get("/departments", response=list[DepartmentOut])
def departments(request):
    """Departments at or below the caller's node (职能部门)."""
    require_permission(request.user, "accounts.view", getattr(request, "api_token", None))
    rows = visible_to(Department.objects.select_related("region"), request.user)
    return [DepartmentOut(code=d.code, name=d.name, region_code=d.region.code)
            for d in rows.filter(is_active=True)]

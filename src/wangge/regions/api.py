from __future__ import annotations

from ninja import Router, Schema

from wangge.accounts.permissions import require_permission
from wangge.accounts.scope import get_visible_or_404

from .models import Region

router = Router(tags=["regions"])


class RegionOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None
    path: str
    attributes: dict


def region_out(region: Region) -> RegionOut:
    return RegionOut(code=region.code, name=region.name, level=region.level,
                     parent_code=region.parent.code if region.parent_id else None,
                     path=region.path, attributes=region.attributes)


@router.get("/{code}", response=RegionOut)
def get_region(request, code: str):
    require_permission(request.user, "regions.view", getattr(request, "api_token", None))
    return region_out(get_visible_or_404(Region.objects.select_related("parent"), request.user,
                                         code=code))

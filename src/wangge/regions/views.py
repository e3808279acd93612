from __future__ import annotations

from django.shortcuts import render

from wangge.accounts.permissions import permission_required
from wangge.accounts.scope import get_visible_or_404, visible_to

from .models import Region


@permission_required("regions.view")
def browse(request, code: str | None = None):
    user = request.user
    if code is None and user.region is not None:
        code = user.region.code
    node = get_visible_or_404(Region, user, code=code) if code else None
    children = visible_to(Region, user).filter(parent=node) if node else \
        visible_to(Region, user).filter(parent__isnull=True)
    return render(request, "regions/browse.html", {"node": node, "children": children})


@permission_required("regions.view")
def region_map(request, code: str | None = None):
    return browse(request, code)


@permission_required("regions.view")
def detail(request, code: str):
    return browse(request, code)

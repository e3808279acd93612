from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from wangge.accounts.permissions import has_permission
from wangge.accounts.roles import Role


@login_required
def home(request):
    """Each role lands where its work is."""
    user = request.user
    if has_permission(user, "cases.view") and user.role not in (Role.ADMIN, Role.MACHINE):
        # Dispatchers to the queue, handlers to the inbox, grid workers and residents to
        # their own cases (the cases app decides).
        return redirect("cases:home")
    if has_permission(user, "regions.view") and user.role != "auditor":
        if user.region is not None and user.region.is_grid:
            # A grid worker's day starts at their own grid.
            return redirect("regions:detail", code=user.region.code)
        return redirect("regions:browse")
    if has_permission(request.user, "audit.view"):
        return redirect("audit:search")
    return render(request, "core/home.html")

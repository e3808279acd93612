from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from wangge.accounts.permissions import has_permission


@login_required
def home(request):
    """Each role lands where its work is."""
    if has_permission(request.user, "regions.view") and request.user.role != "auditor":
        return redirect("regions:browse")
    if has_permission(request.user, "audit.view"):
        return redirect("audit:search")
    return render(request, "core/home.html")

from django.urls import path, register_converter

from . import hotline_views, views


class CaseCodeConverter:
    """A case number: upper-case letters and digits (WG20250101000001). Lower-case words
    ("rules", "queue") are never case numbers, so pages mounted beside these stay reachable
    whatever the order of the includes."""

    regex = "[A-Z][A-Z0-9-]{0,23}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CaseCodeConverter, "casecode")

app_name = "cases"
# "rules/" is left free: the routing-rule pages are mounted there.
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.report, name="report"),
    path("mine/", views.mine, name="mine"),
    path("verify/", views.verify_list, name="verify_list"),
    path("queue/", views.queue, name="queue"),
    path("inbox/", views.inbox, name="inbox"),
    path("track/", views.track, name="track"),
    path("hotline/", hotline_views.hotline_import, name="hotline"),
    path("<casecode:code>/", views.detail, name="detail"),
    path("<casecode:code>/act/<str:action>/", views.act, name="act"),
]

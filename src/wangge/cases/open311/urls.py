"""/open311/v2/… — GeoReport v2. ``service_code`` and ids may contain dots (``env.garbage``);
the format is what follows the last one."""

from django.urls import re_path

from . import views

app_name = "open311"
FMT = r"\.(?P<fmt>[A-Za-z0-9]+)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/(?P<code>[^/]+)" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+)" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + FMT, views.token, name="token"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]

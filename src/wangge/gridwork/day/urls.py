"""The grid worker's day — 网格员工作台: today's work on a phone, patrols, offline sync."""

from django.urls import path

from ..visits import views as visit_views
from . import views

urlpatterns = [
    path("", views.home, name="day_home"),
    path("sw.js", views.service_worker, name="day_sw"),
    path("sync/", views.sync_items, name="day_sync"),
    path("submit/", views.submit, name="day_submit"),
    path("dismiss/", views.dismiss, name="day_dismiss"),
    path("visits/<int:person_id>/", visit_views.person, name="visits_person"),
]

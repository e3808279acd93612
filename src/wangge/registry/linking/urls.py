"""Linkage pages under /registry/linkage/ (数据融合), for data stewards."""

from django.urls import path

from . import views

app_name = "linkage"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("run/", views.run_now, name="run_now"),
    path("run/status/", views.run_status, name="run_status"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/decide/", views.decide, name="decide"),
    path("conflicts/", views.conflict_list, name="conflicts"),
    path("decisions/", views.decision_list, name="decisions"),
    path("decisions/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("persons/<int:pk>/", views.person, name="person"),
    path("persons/<int:pk>/merge/", views.merge, name="merge"),
    path("rows/<int:pk>/split/", views.split, name="split"),
]

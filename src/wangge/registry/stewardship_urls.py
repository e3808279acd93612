"""Pages of data stewardship — 个人数据与删除/匿名化 — mounted at /registry/privacy/."""

from django.urls import path

from . import stewardship_views as views

app_name = "registry_privacy"

urlpatterns = [
    path("me/", views.own_data_page, name="me"),
    path("me/export/", views.own_export, name="me_export"),
    path("me/erase/", views.own_erase, name="me_erase"),
    path("erasure/", views.erasure_list, name="erasure_list"),
    path("erasure/new/<int:person_id>/", views.erasure_new, name="erasure_new"),
    path("erasure/<int:pk>/", views.erasure_detail, name="erasure_detail"),
    path("erasure/<int:pk>/decide/", views.erasure_decide, name="erasure_decide"),
]

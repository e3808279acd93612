from django.urls import include, path

from . import views

app_name = "gridwork"
urlpatterns = [
    path("matters/", views.index, name="index"),
    path("matters/review/", views.queue, name="queue"),
    path("matters/<int:pk>/", views.item, name="item"),
    path("matters/<int:pk>/<str:action>/", views.act, name="act"),
    path("tasks/", include("wangge.gridwork.tasks.urls")),
    path("day/", include("wangge.gridwork.day.urls")),
    path("staffing/", include("wangge.gridwork.staffing.urls")),
]

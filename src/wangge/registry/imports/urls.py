from django.urls import path

from . import views

app_name = "registry_imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("map/", views.mapping, name="mapping"),
    path("report.csv", views.preview_report, name="preview_report"),
    path("commit/", views.commit, name="commit"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/report.csv", views.run_report, name="run_report"),
]

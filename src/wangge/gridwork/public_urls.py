"""The public grid matters list — 网格事项准入清单公示: no login, no personal data."""

from django.urls import path

from . import views

app_name = "gridwork_public"
urlpatterns = [path("", views.public, name="matters")]

"""The public transparency page — 政务公开: no login, aggregates only, no personal data."""

from django.urls import path

from . import public_views

app_name = "public"
urlpatterns = [path("", public_views.index, name="index")]

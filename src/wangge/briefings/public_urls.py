"""The public transparency page — 政务公开: no login, aggregates only, no personal data."""

from django.urls import path  # noqa: F401

app_name = "public"
urlpatterns: list = []

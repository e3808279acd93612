from django.urls import include, path

from . import views

app_name = "catalog"

urlpatterns = [
    path("forms/", include(("wangge.catalog.collection.urls", "collection"))),
    *views.urlpatterns,
]

from django.urls import include, path

from . import views

app_name = "registry"

urlpatterns = [
    path("imports/", include(("wangge.registry.imports.urls", "registry_imports"))),
    path("linkage/", include(("wangge.registry.linking.urls", "linkage"))),
    *views.urlpatterns,
]

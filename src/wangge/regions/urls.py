from django.urls import path

from . import import_views, views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("map/", views.region_map, name="map"),
    path("map/<str:code>/", views.region_map, name="map_node"),
    # Before "<code>/", so that "import" is never read as a region code.
    path("import/", import_views.import_page, name="import"),
    path("<str:code>/", views.browse, name="node"),
    path("<str:code>/detail/", views.detail, name="detail"),
]

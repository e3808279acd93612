from django.urls import path

from . import views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("map/", views.region_map, name="map"),
    path("map/<str:code>/", views.region_map, name="map_node"),
    path("<str:code>/", views.browse, name="node"),
    path("<str:code>/detail/", views.detail, name="detail"),
]

from django.urls import path

from . import views

app_name = "command"
# "map/" before "<code>/": region codes are digits, but the order keeps it obvious.
urlpatterns = [
    path("", views.figures_view, name="figures"),
    path("map/", views.map_view, name="map"),
    path("map/<str:code>/", views.map_view, name="map_node"),
    path("<str:code>/", views.figures_view, name="figures_node"),
]

from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("", views.index, name="index"),
    path("weights/", views.weights, name="weights"),
    path("unit/<str:kind>/<str:key>/", views.unit, name="unit"),
]

from django.urls import path

from . import views

app_name = "collection"

urlpatterns: list = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("todo/", views.todo, name="todo"),
    path("targets/<int:pk>/", views.target, name="target"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/issue/", views.issue, name="issue"),
    path("<int:pk>/close/", views.close, name="close"),
]

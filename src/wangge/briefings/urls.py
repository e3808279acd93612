from django.urls import path

from . import views

app_name = "briefings"
urlpatterns = [
    path("", views.briefing_list, name="list"),
    path("<int:pk>/", views.briefing_detail, name="detail"),
    path("<int:pk>/xlsx", views.briefing_xlsx, name="xlsx"),
]

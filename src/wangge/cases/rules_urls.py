from django.urls import path

from . import rules_views

app_name = "case_rules"
urlpatterns = [
    path("", rules_views.rule_list, name="list"),
    path("new/", rules_views.rule_create, name="create"),
    path("<int:pk>/", rules_views.rule_edit, name="edit"),
    path("<int:pk>/delete/", rules_views.rule_delete, name="delete"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="staffing_home"),
    path("plan/", views.plan, name="staffing_plan"),
    path("proposals/", views.proposal_list, name="staffing_proposals"),
    path("proposals/compute/", views.compute, name="staffing_compute"),
    path("proposals/<int:pk>/<str:action>/", views.decide, name="staffing_decide"),
]

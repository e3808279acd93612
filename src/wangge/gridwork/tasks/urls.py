"""Tasks, recurring inspections and campaigns sent to grids — 任务、巡检、拉网式排查.

Included under /gridwork/tasks/ in the "gridwork" namespace.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.task_list, name="tasks_list"),
    path("new/", views.task_new, name="tasks_new"),
    path("<int:pk>/", views.task_page, name="tasks_task"),
    path("<int:pk>/progress/", views.task_page, name="tasks_progress"),
    path("<int:pk>/progress.csv", views.task_csv, name="tasks_csv"),
    path("<int:pk>/launching/", views.task_launching, name="tasks_launching"),
    path("<int:pk>/<str:action>/", views.task_act, name="tasks_act"),
    path("targets/<int:pk>/", views.target_page, name="tasks_target"),
    path("targets/<int:pk>/reopen/", views.target_reopen, name="tasks_reopen"),
]

from django.apps import AppConfig


class WorkcalendarConfig(AppConfig):
    """The official working-day calendar — 工作日历 (holidays and 调休 make-up days)."""

    name = "wangge.workcalendar"
    label = "workcalendar"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save

        from . import services
        from .models import DayOverride

        # Any change to an override (admin, shell, service) drops this process's year
        # tables at once; other processes follow within OVERRIDE_CACHE_SECONDS.
        def overrides_changed(**kwargs) -> None:
            services.invalidate()

        def settings_changed(setting: str, **kwargs) -> None:
            if setting in {"WANGGE_WORKCALENDAR", "TIME_ZONE"}:
                services.clear_cache()

        post_save.connect(overrides_changed, sender=DayOverride, weak=False,
                          dispatch_uid="workcalendar.override_saved")
        post_delete.connect(overrides_changed, sender=DayOverride, weak=False,
                            dispatch_uid="workcalendar.override_deleted")
        setting_changed.connect(settings_changed, weak=False,
                                dispatch_uid="workcalendar.settings_changed")

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import ClockedSchedule, PeriodicTask, SolarSchedule

from apps.core.models import RuntimeSetting
from apps.core.runtime_settings import RuntimeSettingError, spec_for
from apps.core.services import runtime_setting_update


class RuntimeSettingForm(forms.ModelForm):
    value = forms.JSONField(
        required=False,
        help_text='JSON: a number, "text", true/false, or a list such as ["ES", "NQ"].',
    )

    class Meta:
        model = RuntimeSetting
        fields = ["value"]

    def clean_value(self) -> Any:
        value = self.cleaned_data.get("value")
        try:
            spec = spec_for(self.instance.key)
            return spec.to_json(spec.validate(value))
        except RuntimeSettingError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(admin.ModelAdmin):
    form = RuntimeSettingForm
    list_display = ["key", "current_value", "default_value", "description", "updated_at", "updated_by"]
    readonly_fields = ["key", "description", "default_value", "updated_at", "updated_by"]
    fields = ["key", "description", "value", "default_value", "updated_at", "updated_by"]
    search_fields = ["key"]

    @admin.display(description="value")
    def current_value(self, obj: RuntimeSetting) -> str:
        return json.dumps(obj.value)

    @admin.display(description="default")
    def default_value(self, obj: RuntimeSetting) -> str:
        try:
            spec = spec_for(obj.key)
        except RuntimeSettingError:
            return "(no longer registered)"
        return json.dumps(spec.to_json(spec.default))

    @admin.display(description="meaning")
    def description(self, obj: RuntimeSetting) -> str:
        try:
            return spec_for(obj.key).help
        except RuntimeSettingError:
            return "No process reads this setting any more."

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from the registry in code; an unregistered key would do nothing.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RuntimeSetting | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RuntimeSetting, form: Any, change: bool) -> None:
        runtime_setting_update(key=obj.key, value=form.cleaned_data["value"], actor=request.user)  # type: ignore[arg-type]


# Beat's schedules: a trader schedules by interval or by time of day (crontab). Solar (sunrise and
# sunset at a latitude) and clocked (one moment) schedules are never used here, so they are not
# offered: their pages are gone and the periodic task form has no fields for them.
admin.site.unregister(SolarSchedule)
admin.site.unregister(ClockedSchedule)
admin.site.unregister(PeriodicTask)

_USED_SCHEDULE_FIELDS = ("interval", "crontab", "crontab_translation", "start_time", "last_run_at", "one_off")


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    fieldsets = tuple(
        (title, {**options, "fields": _USED_SCHEDULE_FIELDS}) if "interval" in options["fields"] else (title, options)
        for title, options in BeatPeriodicTaskAdmin.fieldsets
    )

"""Alert rules in the admin: a rule that cannot compile is refused on the field that is wrong
(nothing saved); a backtest button runs the rule over the lake for the days given."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast
from urllib.parse import urlencode

from celery.result import AsyncResult
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.alerts.backtest import MAX_DAYS, BacktestReport
from apps.alerts.models import AlertDelivery, AlertEvent, AlertMute, AlertRule
from apps.alerts.rules import RuleCompileError
from apps.alerts.selectors import mute_in_force
from apps.alerts.services import (
    SPEC_FIELDS,
    alert_test_fire,
    mute_end,
    rule_check,
    rule_delete,
    rule_mute_until,
    rule_save,
)
from apps.alerts.tasks import alerts_backtest
from apps.core.clock import utc_now
from apps.core.exceptions import ApplicationError

_TASK_ID = re.compile(r"^[0-9a-f-]{36}$")


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ("name", "description", "enabled", *SPEC_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            rule_check({name: data[name] for name in SPEC_FIELDS if name in data})
        except RuleCompileError as error:
            field = error.field.split("[")[0].split(".")[0]
            self.add_error(field if field in self.fields else None, ValidationError(error.message))
        return data


class BacktestForm(forms.Form):
    start = forms.DateField(label="from (UTC day)", initial=date.today)
    end = forms.DateField(label="to (UTC day)", initial=date.today)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = (
        "name",
        "source",
        "enabled",
        "muted_until",
        "match",
        "session",
        "cooldown_seconds",
        "version",
        "backtest_link",
    )
    list_filter = ("source", "enabled")
    search_fields = ("name",)
    readonly_fields = ("version", "created_at", "updated_at")
    actions = ("test_fire",)

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in ("name", "description", "enabled", *SPEC_FIELDS)}
        saved = rule_save(data=data, rule=AlertRule.objects.get(pk=obj.pk) if change else None)
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        rule_delete(rule=obj)

    @admin.display(description="muted until")
    def muted_until(self, rule: AlertRule) -> str:
        mute = mute_in_force(rule=rule)
        return f"{mute.until:%Y-%m-%d %H:%M} UTC ({mute.muted_by})" if mute else "—"

    @admin.display(description="backtest")
    def backtest_link(self, rule: AlertRule) -> str:
        return format_html('<a href="{}">backtest</a>', reverse("admin:alerts_alertrule_backtest", args=[rule.pk]))

    @admin.action(description="Send a test alert through the rule's actions")
    def test_fire(self, request: HttpRequest, queryset: Any) -> None:
        for rule in queryset:
            try:
                alert_test_fire(rule=rule)
            except ApplicationError as error:
                self.message_user(request, f"{rule.name}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{rule.name}: test alert queued for its actions")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:rule_id>/backtest/",
                self.admin_site.admin_view(self.backtest_view),
                name="alerts_alertrule_backtest",
            ),
            *super().get_urls(),
        ]

    def backtest_view(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        """The form; on submit the backtest runs on the `alerts` queue and this page follows it
        (a progress bar, refreshed every second), then shows the report and offers the CSV."""
        rule = get_object_or_404(AlertRule, pk=rule_id)
        task_id = request.GET.get("task", "")
        if task_id:
            return self._backtest_followed(request, rule, task_id)
        form = BacktestForm(request.GET or None)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            if end < start or (end - start).days >= MAX_DAYS:
                form.add_error("end", f"give an end on or after the start, at most {MAX_DAYS} days later")
            else:
                task = alerts_backtest.apply_async(args=(rule.pk, start.isoformat(), end.isoformat()), queue="alerts")
                url = reverse("admin:alerts_alertrule_backtest", args=[rule.pk])
                return HttpResponseRedirect(f"{url}?{urlencode({'task': task.id})}")
        return self._backtest_page(request, rule, {"form": form})

    def _backtest_followed(self, request: HttpRequest, rule: AlertRule, task_id: str) -> HttpResponse:
        if not _TASK_ID.match(task_id):
            return HttpResponseBadRequest("task must be a task id")
        result: AsyncResult[Any] = AsyncResult(task_id)
        if result.failed():
            return self._backtest_page(request, rule, {"form": BacktestForm(), "error": str(result.result)})
        if not result.successful():
            meta = result.info if isinstance(result.info, dict) else {}
            context = {"running": True, "done": meta.get("done", 0), "total": meta.get("total", 0)}
            return self._backtest_page(request, rule, context)
        data = cast(dict[str, Any], result.result)
        report = BacktestReport(
            **{**data, "start": date.fromisoformat(data["start"]), "end": date.fromisoformat(data["end"])}
        )
        if request.GET.get("format") == "csv":
            response = HttpResponse(report.csv(), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="backtest-{rule.pk}.csv"'
            return response
        return self._backtest_page(request, rule, {"form": BacktestForm(), "report": report, "task": task_id})

    def _backtest_page(self, request: HttpRequest, rule: AlertRule, context: dict[str, Any]) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "rule": rule,
            "title": f"Backtest: {rule.name}",
            "opts": self.model._meta,
            **context,
        }
        return TemplateResponse(request, "admin/alerts/backtest.html", context)


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("rule", "event_time", "key", "position", "test", "fired_at")
    list_filter = ("rule", "test", "source")
    readonly_fields = [field.name for field in AlertEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "action_index", "kind", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "kind")
    readonly_fields = [field.name for field in AlertDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AlertMuteForm(forms.ModelForm):
    class Meta:
        model = AlertMute
        fields = ("rule", "until")

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until is not None and until <= utc_now():
            raise ValidationError("give an end in the future")
        return until


@admin.register(AlertMute)
class AlertMuteAdmin(admin.ModelAdmin):
    """Mutes (`!alert mute RULE 30m` or here): while one is in force its rule's alerts are
    recorded (marked muted) and sent nowhere. Added here or from Discord; ended early by the
    action, never edited."""

    form = AlertMuteForm
    list_display = ("rule", "until", "in_force", "muted_by", "created_at", "unmuted_by")
    list_filter = ("rule",)
    actions = ("end_now",)

    def get_readonly_fields(self, request: HttpRequest, obj: AlertMute | None = None) -> Any:
        return ("rule", "until", "muted_by", "created_at", "unmuted_by") if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: AlertMute | None = None) -> bool:
        return False

    @admin.display(boolean=True, description="in force")
    def in_force(self, mute: AlertMute) -> bool:
        return mute.until > utc_now()

    def save_model(self, request: HttpRequest, obj: AlertMute, form: Any, change: bool) -> None:
        if change:
            return
        saved = rule_mute_until(
            rule=form.cleaned_data["rule"], until=form.cleaned_data["until"], by=f"admin:{request.user.get_username()}"
        )
        obj.pk = saved.pk

    @admin.action(description="End the selected mutes now")
    def end_now(self, request: HttpRequest, queryset: Any) -> None:
        ended = sum(mute_end(mute=mute, by=f"admin:{request.user.get_username()}") for mute in queryset)
        self.message_user(request, f"{ended} mute(s) ended")

"""Alert rules in the admin: a rule that cannot compile is refused on the field that is wrong
(nothing saved); a backtest button runs the rule over the lake for the days given."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.alerts.backtest import backtest_run
from apps.alerts.models import AlertDelivery, AlertEvent, AlertRule
from apps.alerts.rules import RuleCompileError
from apps.alerts.services import SPEC_FIELDS, alert_test_fire, rule_check, rule_delete, rule_save
from apps.core.exceptions import ApplicationError


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
    list_display = ("name", "source", "enabled", "match", "session", "cooldown_seconds", "version", "backtest_link")
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
        rule = get_object_or_404(AlertRule, pk=rule_id)
        form = BacktestForm(request.GET or None)
        report = None
        if form.is_valid():
            try:
                report = backtest_run(rule=rule, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
            except ApplicationError as error:
                form.add_error(None, error.message)
            if report is not None and request.GET.get("format") == "csv":
                response = HttpResponse(report.csv(), content_type="text/csv")
                response["Content-Disposition"] = f'attachment; filename="backtest-{rule.pk}.csv"'
                return response
        context = {
            **self.admin_site.each_context(request),
            "rule": rule,
            "form": form,
            "report": report,
            "title": f"Backtest: {rule.name}",
            "opts": self.model._meta,
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

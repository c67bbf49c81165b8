from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.storage.models import PurgeRun, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["data_type", "hot_window_minutes", "cold_retention_days", "enabled", "updated_at"]
    list_editable = ["hot_window_minutes", "cold_retention_days", "enabled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per data type, created by the migration

    def has_delete_permission(self, request: HttpRequest, obj: RetentionPolicy | None = None) -> bool:
        return False


@admin.register(PurgeRun)
class PurgeRunAdmin(admin.ModelAdmin):
    """The audit: read only."""

    list_display = ["started_at", "triggered_by", "dry_run", "data_type", "before", "status", "bytes_freed"]
    list_filter = ["status", "dry_run", "data_type"]
    readonly_fields = [field.name for field in PurgeRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PurgeRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PurgeRun | None = None) -> bool:
        return False

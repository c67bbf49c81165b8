from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.gex.models import GEXImportJob
from apps.gex.services.imports import gex_import_retry


@admin.register(GEXImportJob)
class GEXImportJobAdmin(admin.ModelAdmin):
    """Jobs come from `manage.py import_gex_history` and the API; here they are watched and retried."""

    list_display = [
        "id",
        "state",
        "kind",
        "short_source",
        "ticker",
        "package",
        "category",
        "progress",
        "rows",
        "attempts",
        "error",
        "created_at",
        "finished_at",
    ]
    list_display_links = ["id", "short_source"]
    list_filter = ["state", "kind", "ticker"]
    search_fields = ["source", "ticker", "error"]
    readonly_fields = [field.name for field in GEXImportJob._meta.fields]
    actions = ["retry_failed"]

    @admin.display(description="source")
    def short_source(self, obj: GEXImportJob) -> str:
        # Presigned URLs run to hundreds of characters; the change page shows all of it.
        source = obj.source.split("?", 1)[0] if obj.kind == GEXImportJob.Kind.URL else obj.source
        return source if len(source) <= 80 else f"...{source[-77:]}"

    @admin.display(description="progress")
    def progress(self, obj: GEXImportJob) -> str:
        percent = obj.progress_percent
        return "-" if percent is None else f"{percent:g}%"

    @admin.display(description="rows (new / in source)")
    def rows(self, obj: GEXImportJob) -> str:
        return f"{obj.rows_imported:,} / {obj.progress_total:,}"

    @admin.action(description="Retry failed jobs", permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[GEXImportJob]) -> None:
        queued = gex_import_retry(job_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - len(queued)
        self.message_user(request, f"Queued {len(queued)} failed job(s) again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Left {skipped} job(s) that had not failed alone.", messages.WARNING)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GEXImportJob | None = None) -> bool:
        return False  # a record of what ran; the retry action is the only way to act on it

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gex.change_geximportjob")

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from apps.batch.models import BatchJob, BatchUnit
from apps.batch.report import JobReport
from apps.batch.services import job_cancel, job_progress, job_resume
from apps.core.exceptions import ApplicationError


class BatchUnitInline(admin.TabularInline):
    model = BatchUnit
    fields = ("index", "label", "state", "attempts", "done", "weight", "error", "started_at", "ended_at")
    readonly_fields = ("index", "label", "state", "attempts", "done", "weight", "error", "started_at", "ended_at")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: BatchJob | None = None) -> bool:
        return False


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    """Jobs with their progress and reports; resume or cancel from the list."""

    list_display = ["id", "kind", "state", "progress", "who", "created_at", "ended_at", "error"]
    list_filter = ["state", "kind"]
    readonly_fields = (*[field.name for field in BatchJob._meta.fields], "progress", "report_shown")
    exclude = ["report"]
    inlines = [BatchUnitInline]
    actions = ["resume_jobs", "cancel_jobs"]

    @admin.display(description="progress")
    def progress(self, job: BatchJob) -> str:
        shown = job_progress(job)
        if not shown["total"]:
            return "-"
        return f"{shown['done']:,} / {shown['total']:,} {shown['unit']} ({100 * shown['done'] / shown['total']:.1f}%)"

    @admin.display(description="report")
    def report_shown(self, job: BatchJob) -> str:
        report = JobReport.from_json(job.report)
        return format_html(
            "<p>{}</p><p>Warnings:</p><ul>{}</ul><p>Outputs:</p><ul>{}</ul>",
            report.summary(),
            format_html_join("", "<li>{}</li>", ((warning,) for warning in report.warnings)),
            format_html_join("", "<li>{}</li>", ((output,) for output in report.outputs)),
        )

    @admin.action(description="Resume the selected jobs from their checkpoint")
    def resume_jobs(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        self._each(request, queryset, lambda job_id: job_resume(job_id=job_id), "resumed")

    @admin.action(description="Cancel the selected jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        self._each(request, queryset, lambda job_id: job_cancel(job_id=job_id), "cancelled")

    def _each(self, request: HttpRequest, queryset: QuerySet[BatchJob], action: object, verb: str) -> None:
        done = []
        for job_id in queryset.values_list("pk", flat=True):
            try:
                action(job_id)  # type: ignore[operator]
                done.append(str(job_id))
            except ApplicationError as error:
                self.message_user(request, error.message, messages.WARNING)
        if done:
            self.message_user(request, f"{verb} job(s) {', '.join(done)}")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are submitted with `manage.py jobs run` or a kind's own command

    def has_change_permission(self, request: HttpRequest, obj: BatchJob | None = None) -> bool:
        return False

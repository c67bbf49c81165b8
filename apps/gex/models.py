from __future__ import annotations

from django.db import models


class GEXImportJob(models.Model):
    """One import of GEX history (a download URL, a vendor file, or one day from GEXBot), run
    once however often it is submitted: `source_hash` is unique."""

    class Kind(models.TextChoices):
        URL = "url", "Download URL"
        FILE = "file", "History file"
        DATE = "date", "GEXBot history day"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.TextField(help_text="The URL, the file's path, or TICKER/package/category/YYYY-MM-DD.")
    ticker = models.CharField(max_length=32)
    package = models.CharField(max_length=32)
    category = models.CharField(max_length=64)
    source_hash = models.CharField(
        max_length=64,
        unique=True,
        help_text="sha256 of the target (ticker/package/category) and of the URL, the file's content or the day.",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs started, retries included.")
    progress_done = models.PositiveIntegerField(default=0, help_text="Snapshots of the source processed so far.")
    progress_total = models.PositiveIntegerField(default=0, help_text="Snapshots in the source (0 until read).")
    rows_imported = models.PositiveIntegerField(
        default=0, help_text="Snapshots this job added; ones already recorded are not counted."
    )
    error = models.TextField(blank=True, help_text="Why the last run failed (or will be retried).")
    task_id = models.CharField(max_length=64, blank=True, help_text="The Celery task of the last submission.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "GEX import job"

    def __str__(self) -> str:
        return f"GEX import {self.pk} ({self.kind} {self.ticker}/{self.package}/{self.category}, {self.state})"

    @property
    def progress_percent(self) -> float | None:
        if not self.progress_total:
            return 100.0 if self.state == self.State.COMPLETED else None
        return round(100 * self.progress_done / self.progress_total, 1)

"""Batch jobs and their units: what the runner does, where it stands and what it produced."""

from __future__ import annotations

from typing import Any

from django.db import models


class BatchJob(models.Model):
    """One run of a job kind (apps/batch/jobs.py) over its parameters, cut into units."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FAILED = "failed", "Failed"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, help_text="The job's parameters, as the kind parsed them.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    progress_unit = models.CharField(max_length=32, default="units")
    checkpoint = models.JSONField(
        default=dict, help_text="Where the job stands: the units done (and, per kind, e.g. a file's record index)."
    )
    report = models.JSONField(default=dict, help_text="JobReport: counts, warnings and outputs.")
    error = models.TextField(blank=True)
    who = models.CharField(max_length=150, blank=True, help_text="Who submitted it (a user, or 'cli').")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "batch job"

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.state})"

    @property
    def progress_percent(self) -> float | None:
        if not self.progress_total:
            return 100.0 if self.state == self.State.DONE else None
        return round(100 * self.progress_done / self.progress_total, 1)

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.CANCELLED)


class BatchUnit(models.Model):
    """One unit of a job (a day of a file, a GEX history day): idempotent, run by one task."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="units")
    index = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    params = models.JSONField(default=dict)
    weight = models.BigIntegerField(default=1, help_text="Its share of the job's progress total.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    # The attempt a queued task carries: a message from an earlier attempt (a redelivery after
    # a resume) finds another token and does nothing.
    token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done = models.BigIntegerField(default=0, help_text="Progress within the unit while it runs.")
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="batch_unit_job_index")]

    def __str__(self) -> str:
        return f"unit {self.index} of job {self.job_id}: {self.label} ({self.state})"


class SourceCheckpoint(models.Model):
    """How far a growing source (a Sierra Chart file) has been imported: the next record index
    and the raw time of the last imported record, to import only what was appended since."""

    key = models.CharField(max_length=200, unique=True, help_text="The source's identity (kind and file name).")
    path = models.TextField()
    records = models.BigIntegerField(default=0, help_text="Records imported: the next record index.")
    last_raw_time = models.BigIntegerField(default=0, help_text="The file's own time value of the last record.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.path}: {self.records} records imported"

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "last_raw_time": self.last_raw_time}

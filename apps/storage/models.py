from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.storage.registry import retention_choices


class RetentionPolicy(models.Model):
    """How long one data type stays in Redis (hot) and in the lake (cold). A data type is the
    retention category of registered lake tables (apps/storage/registry.py): the choices are
    read from the registry, so an app's new table needs no migration here."""

    data_type = models.CharField(max_length=20, choices=retention_choices, unique=True)
    hot_window_minutes = models.PositiveIntegerField(
        default=240, help_text="Minutes kept in Redis streams (never trimmed before the lake has it)."
    )
    cold_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days kept in the lake; empty keeps everything forever."
    )
    enabled = models.BooleanField(default=True, help_text="Off: the purge leaves this data type alone.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["data_type"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.data_type}: hot {self.hot_window_minutes} min, cold {self.cold_retention_days or 'forever'} days"


class PurgeRun(models.Model):
    """One purge, planned or carried out: the audit of what retention removed and why."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Dry run (nothing touched)"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    triggered_by = models.CharField(max_length=200, help_text="Who or what started it: a user, a command, beat.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dry_run = models.BooleanField()
    data_type = models.CharField(max_length=20, blank=True, help_text="Empty: every data type.")
    before = models.DateField(null=True, blank=True, help_text="Only lake partitions before this date.")
    plan = models.JSONField()
    result = models.JSONField(null=True, blank=True)
    bytes_freed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge {self.pk} ({self.status}, {self.triggered_by})"

from __future__ import annotations

from django.conf import settings
from django.db import models


class RuntimeSetting(models.Model):
    """The current value of one registered runtime setting (see apps/core/runtime_settings.py)."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(null=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

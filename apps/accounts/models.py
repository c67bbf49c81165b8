"""API tokens and the audit of staff control actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class APIToken(models.Model):
    """A bearer token for the REST API and WebSockets. Only the SHA-256 of the secret is kept:
    the secret is shown once, when the token is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'Sierra Chart bridge'.")
    prefix = models.CharField(
        max_length=8, db_index=True, help_text="The secret's first characters, to tell tokens apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in apps.api: moving the model
        # between apps moved no data (migrations accounts/0001 and api/0002).
        db_table = "api_apitoken"
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ControlAction(models.Model):
    """The audit of one call to a control endpoint, allowed or not."""

    class Outcome(models.TextChoices):
        OK = "ok", "Done"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied (not staff)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey(APIToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.JSONField(null=True, blank=True, help_text="The result, or the error.")
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "api_controlaction"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.action} by {self.user or 'unknown'}: {self.outcome}"

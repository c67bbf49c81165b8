"""Broker OAuth tokens: one row per provider and account, the secrets encrypted (Fernet)."""

from __future__ import annotations

from django.db import models


class BrokerToken(models.Model):
    """The tokens of one broker account. The secret columns hold Fernet tokens made with
    BROKER_TOKEN_KEY (apps/brokers/crypto.py); the expiries are plain, so the admin and
    `manage.py tokens` show the state without the key."""

    provider = models.CharField(max_length=32)
    account = models.CharField(max_length=64, default="default")
    access_token_encrypted = models.TextField(editable=False)
    access_expires_at = models.DateTimeField()
    refresh_token_encrypted = models.TextField(editable=False, blank=True)
    # When the refresh token itself ends (Schwab: 7 days after the login, never extended);
    # null for a refresh token that does not expire (TastyTrade's).
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_issued_at = models.DateTimeField(null=True, blank=True)
    # Anything else the provider's session needs back after a restart (JSON, encrypted).
    extra_encrypted = models.TextField(editable=False, blank=True)
    refreshes = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "account"], name="brokers_token_provider_account")]
        ordering = ["provider", "account"]
        verbose_name = "broker token"

    def __str__(self) -> str:
        return f"{self.provider}:{self.account}"

"""The actions a rule sends its alerts to, typed like the conditions (discriminated on `kind`).
Secrets (webhook URLs of Discord, HMAC keys) are SecretStr: never printed in a log or an error."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


def _http_url(value: SecretStr) -> SecretStr:
    parts = urlsplit(value.get_secret_value())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class DiscordAction(BaseModel):
    """A Discord channel. Today through the channel's webhook; the bot (issue 16) registers a
    route with `apps.alerts.actions.discord.discord_route_register` and then carries alerts for
    rules that name a `channel_id`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["discord"]
    webhook_url: SecretStr | None = Field(default=None, description="https://discord.com/api/webhooks/<id>/<token>")
    channel_id: str | None = Field(default=None, pattern=r"^\d{1,30}$", description="for the bot route")

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else _http_url(value)

    def model_post_init(self, __context: object) -> None:
        if self.webhook_url is None and self.channel_id is None:
            raise ValueError("give webhook_url (or channel_id once the bot carries alerts)")


class WebhookAction(BaseModel):
    """An HTTP POST of the alert as JSON, signed: `X-Pipeline-Signature: sha256=<hex HMAC-SHA256 of
    "<X-Pipeline-Timestamp>.<body>">`; `X-Pipeline-Delivery` is the same on every retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["webhook"]
    url: SecretStr
    secret: SecretStr = Field(min_length=16, description="the HMAC key shared with the receiver")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        return _http_url(value)


class PubSubAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["pubsub"]
    channel: str = Field(default="alerts:fired:stream", pattern=r"^[A-Za-z0-9][A-Za-z0-9:_.-]{0,99}$")


class WebSocketAction(BaseModel):
    """The `alerts:fired` stream, which `/ws/alerts` relays to its subscribers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["websocket"]


Action = Annotated[DiscordAction | WebhookAction | PubSubAction | WebSocketAction, Field(discriminator="kind")]

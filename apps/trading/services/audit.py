"""The trade audit: one row per attempt and decision, written in its own transaction so that a
refusal's row survives whatever the caller does next."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from apps.core.clock import utc_now
from apps.trading.models import TradeAudit
from apps.trading.selectors import Requester


def audit_write(
    *,
    kind: str,
    requester: Requester | None,
    rule: str = "",
    message: str = "",
    ticket: UUID | None = None,
    order: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    order_id: str = "",
    environment: str = "",
) -> TradeAudit:
    return TradeAudit.objects.create(
        at=utc_now(),
        kind=kind,
        rule=rule,
        message=message[:2000],
        user=requester.user if requester else "",
        guild=requester.guild if requester else "",
        channel=requester.channel if requester else "",
        source=requester.source if requester else "",
        ticket=ticket,
        order=order or {},
        result=result or {},
        order_id=order_id,
        environment=environment,
    )

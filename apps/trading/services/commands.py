"""Bot commands that never reached an order (unknown or malformed): audited like a refusal."""

from __future__ import annotations

from apps.trading.models import TradeAudit
from apps.trading.selectors import Requester
from apps.trading.services.audit import audit_write


def command_refused_record(*, requester: Requester, command: str, rule: str, message: str) -> None:
    audit_write(
        kind=TradeAudit.Kind.REFUSED, requester=requester, rule=rule, message=message, order={"command": command[:500]}
    )

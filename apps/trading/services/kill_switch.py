"""The kill switch: flipped from the admin, the REST control API or `!killswitch` (admins);
every flip is audited. While on, no order is placed; cancels still go through."""

from __future__ import annotations

from django.db import transaction

from apps.core.clock import utc_now
from apps.monitoring.metrics import TRADING_KILL_SWITCH
from apps.trading.errors import TradeRefusedError
from apps.trading.models import KillSwitch, TradeAudit
from apps.trading.selectors import Requester
from apps.trading.services.audit import audit_write


@transaction.atomic
def kill_switch_set(*, on: bool, requester: Requester, reason: str = "") -> KillSwitch:
    """Sets the switch. From Discord only a guild administrator may (refused and audited otherwise)."""
    if requester.source == "discord" and not requester.is_admin:
        audit_write(
            kind=TradeAudit.Kind.REFUSED,
            requester=requester,
            rule="kill_switch_admin",
            message="only a server administrator may flip the kill switch",
            result={"requested": on},
        )
        raise TradeRefusedError("kill_switch_admin", "Only a server administrator may flip the kill switch.")
    switch, _ = KillSwitch.objects.select_for_update().get_or_create(pk=1)
    switch.on, switch.changed_at, switch.changed_by = on, utc_now(), requester.user
    switch.reason = reason[:200]
    switch.save()
    TRADING_KILL_SWITCH.set(1 if on else 0)
    audit_write(
        kind=TradeAudit.Kind.KILL_SWITCH,
        requester=requester,
        message=f"kill switch {'ON' if on else 'off'}" + (f": {reason}" if reason else ""),
        result={"on": on},
    )
    return switch

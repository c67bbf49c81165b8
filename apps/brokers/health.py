"""`/health/ready` reports broker logins that end soon (a warning) or have ended (failing)."""

from __future__ import annotations

from apps.core.health import ReadinessWarning, register_readiness_check


class BrokerLoginEndedError(Exception):
    """A broker's refresh token has ended: its feed cannot run until someone logs in again."""


def broker_tokens_probe() -> str:
    from apps.brokers.selectors import token_status_list
    from apps.brokers.services import token_expiry_report

    statuses = token_status_list()
    for status in statuses:
        token_expiry_report(provider=status.provider, account=status.account)  # metric + log line
    ended = [status.summary for status in statuses if status.state == "refresh_expired"]
    if ended:
        raise BrokerLoginEndedError("; ".join(ended))
    expiring = [status.summary for status in statuses if status.state == "refresh_expiring"]
    if expiring:
        raise ReadinessWarning("; ".join(expiring))
    return "; ".join(status.summary for status in statuses) or "no broker token stored"


def register_token_checks() -> None:
    register_readiness_check("broker_tokens", broker_tokens_probe)

from __future__ import annotations

from apps.core.exceptions import ApplicationError


class TradeRefusedError(ApplicationError):
    """A trading rule refused the request; `rule` names it, the message says what to change."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message, {"rule": rule})
        self.rule = rule

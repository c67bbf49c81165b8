"""The brokers whose tokens the store keeps, and what a trader runs to log in again."""

from __future__ import annotations

from apps.core.exceptions import BadInputError

LOGIN_COMMANDS: dict[str, str] = {
    "schwab": "python manage.py schwab_login",
    "tastytrade": "set TASTYTRADE_REFRESH_TOKEN to a new grant (tastytrade.com > OAuth Applications > Create Grant)",
}


def checked_provider(provider: str) -> str:
    if provider not in LOGIN_COMMANDS:
        raise BadInputError("provider", f"unknown broker {provider!r}; known: {', '.join(LOGIN_COMMANDS)}")
    return provider


def login_command(provider: str) -> str:
    return LOGIN_COMMANDS[checked_provider(provider)]

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.brokers.selectors import token_status_list
from apps.core.exceptions import BadInputError


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "never ends"
    if seconds <= 0:
        return "ended"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min left" if hours else f"{rest // 60} min left"


class Command(BaseCommand):
    help = "Show each stored broker token's state: expiries and what to run when a login ends (never the secrets)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--provider", help="only this broker (schwab, tastytrade)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            statuses = token_status_list(provider=options["provider"])
        except BadInputError as error:
            raise CommandError(f"--{error.field}: {error.message}") from None
        if not statuses:
            self.stdout.write("no broker token stored (log in with: python manage.py schwab_login)")
            return
        for status in statuses:
            refresh = (
                f"refresh {status.refresh_expires_at:%Y-%m-%d %H:%M} UTC ({_left(status.refresh_seconds_left)})"
                if status.refresh_expires_at
                else "refresh never ends"
            )
            access = f"access {status.access_expires_at:%Y-%m-%d %H:%M:%S} UTC ({_left(status.access_seconds_left)})"
            self.stdout.write(f"{status.provider}:{status.account}  {status.state}  {access}  {refresh}")
            if status.state in ("refresh_expiring", "refresh_expired"):
                self.stdout.write(f"  log in again: {status.login_command}")

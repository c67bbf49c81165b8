from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.brokers.crypto import TokenKeyError
from apps.brokers.services import token_save
from streamers.schwab import oauth
from streamers.schwab.config import ACCOUNT_FORM


class Command(BaseCommand):
    help = (
        "Log in to Schwab once (authorization-code flow): open the printed URL, log in, paste back the address"
        " the browser lands on. The tokens are stored encrypted; the login lasts 7 days."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--account", default="default", help=f"name for this login ({ACCOUNT_FORM})")
        parser.add_argument(
            "--redirected-url", help="the address the browser landed on after the login (else asked for)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env = settings.ENV
        for variable in ("SCHWAB_APP_KEY", "SCHWAB_APP_SECRET"):
            if not getattr(env, variable).get_secret_value():
                raise CommandError(
                    f"{variable} is not set: the {variable[7:].lower().replace('_', ' ')} of your Schwab app"
                )
        account = options["account"]
        if not account or not all(ch.islower() or ch.isdigit() or ch in "_-" for ch in account):
            raise CommandError(f"--account must be {ACCOUNT_FORM}, not {account!r}")
        app = oauth.SchwabApp(
            api_url=env.SCHWAB_API_URL,
            app_key=env.SCHWAB_APP_KEY.get_secret_value(),
            app_secret=env.SCHWAB_APP_SECRET.get_secret_value(),
            callback_url=env.SCHWAB_CALLBACK_URL,
        )
        redirected = options["redirected_url"]
        if not redirected:
            self.stdout.write("1. Open this URL in a browser and log in to Schwab:")
            self.stdout.write(f"   {oauth.authorize_url(app)}")
            self.stdout.write(f"2. The browser lands on {app.callback_url} (the page may not load: that is fine).")
            self.stdout.write("   Paste that whole address here and press Enter:")
            self.stdout.flush()
            redirected = sys.stdin.readline().strip()
        try:
            tokens = oauth.exchange_code(app, oauth.code_from_redirect(redirected))
            token_save(
                provider="schwab",
                account=account,
                access_token=tokens.access_token,
                access_expires_at=tokens.access_expires_at,
                refresh_token=tokens.refresh_token,
                refresh_expires_at=tokens.refresh_expires_at,
                refresh_issued_at=tokens.issued_at,
                extra=tokens.extra,
            )
        except (oauth.SchwabAuthError, TokenKeyError) as error:
            raise CommandError(str(error)) from None
        except ConnectionError as error:
            raise CommandError(f"Schwab could not be reached ({error}); try again") from None
        self.stdout.write(
            f"Schwab login stored for account {account!r}. It ends {tokens.refresh_expires_at:%Y-%m-%d %H:%M} UTC"
            " (7 days; refreshing does not extend it): run this command again before then."
        )

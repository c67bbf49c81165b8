from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import APIToken
from apps.accounts.services import api_user_create, token_create, token_revoke
from apps.core.exceptions import BadInputError


class Command(BaseCommand):
    help = "Create, revoke and list REST/WebSocket API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="create a token and print its secret (shown this once)")
        create.add_argument("--user", required=True, help="username the token acts for")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument(
            "--create-user",
            action="store_true",
            help="create --user first when it does not exist: a plain user (no admin, no control endpoints)",
        )
        revoke = commands.add_parser("revoke", help="revoke the token whose secret starts with PREFIX")
        revoke.add_argument("prefix")
        commands.add_parser("list", help="list tokens (never their secrets)")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['command']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(**{user_model.USERNAME_FIELD: options["user"]})
        except user_model.DoesNotExist:
            if not options["create_user"]:
                raise CommandError(
                    f"--user: no user named {options['user']!r}; add --create-user to create a plain "
                    "(read-only) user, or use the admin user the run command created"
                ) from None
            try:
                user = api_user_create(username=options["user"])
            except BadInputError as error:
                raise CommandError(f"--user: {error.message}") from None
            self.stdout.write(f"created user {user} (no admin login, no control endpoints)")
        try:
            token, secret = token_create(user=user, name=options["name"])
        except BadInputError as error:
            raise CommandError(f"--{error.field}: {error.message}") from None
        self.stdout.write(f"token {token.prefix} for {user} ({token.name}); the secret is not stored, copy it now:")
        self.stdout.write(secret)

    def _revoke(self, options: dict[str, Any]) -> None:
        matches = list(APIToken.objects.filter(prefix=options["prefix"]))
        if not matches:
            raise CommandError(f"no token with prefix {options['prefix']!r} (see `api_token list`)")
        if len(matches) > 1:
            raise CommandError(f"{len(matches)} tokens have prefix {options['prefix']!r}; revoke them in the admin")
        token = token_revoke(token=matches[0])
        self.stdout.write(f"token {token.prefix} ({token.name}) revoked at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC")

    def _list(self, options: dict[str, Any]) -> None:
        for token in APIToken.objects.select_related("user"):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used:%Y-%m-%d %H:%M}" if token.last_used else "never"
            self.stdout.write(f"{token.prefix}  {token.user}  {token.name!r}  {state}  last used {used}")

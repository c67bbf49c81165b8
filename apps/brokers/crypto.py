"""Encryption of the tokens at rest: Fernet with the key(s) in BROKER_TOKEN_KEY.

BROKER_TOKEN_KEY holds one key (`python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"`) or several, comma-separated, to rotate: the first
encrypts, any of them decrypts. A missing key, a malformed one, or one that does not open the
stored tokens is a `TokenKeyError` naming the variable; the processes stop on it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from apps.core.exceptions import ApplicationError

VARIABLE = "BROKER_TOKEN_KEY"
GENERATE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class TokenKeyError(ApplicationError):
    """BROKER_TOKEN_KEY is missing, malformed, or not the key the tokens were saved with."""


def _fernet() -> MultiFernet:
    raw = settings.ENV.BROKER_TOKEN_KEY.get_secret_value()
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise TokenKeyError(f"{VARIABLE} is not set; generate a key with {GENERATE}", {"variable": VARIABLE})
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise TokenKeyError(
            f"{VARIABLE} is not a Fernet key (32 url-safe base64-encoded bytes); generate one with {GENERATE}",
            {"variable": VARIABLE},
        ) from None


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str, *, what: str) -> str:
    """`token` decrypted; `what` names the stored secret in the error (never its value)."""
    fernet = _fernet()
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        raise TokenKeyError(
            f"{VARIABLE} does not decrypt the stored {what}: it is not the key it was saved with"
            " (set the old key first in the comma-separated list, or log in again)",
            {"variable": VARIABLE},
        ) from None

"""Secrets out of text meant for people: log lines, error messages, `manage.py config` output.

A URL's query string is masked value by value (names stay: `?symbol=***&token=***`), because a
query may carry any credential under any name (`token`, `X-Amz-Signature`, `api_key`, ...); the
password of a URL's user-info is masked (`redis://:***@host`); so are bearer tokens and the
WebSocket token subprotocol (`token.<secret>`). Redaction is idempotent.
"""

from __future__ import annotations

import re

MASK = "***"

# A query: "?" then name=value pairs up to whitespace, a quote, a bracket or a backslash (the
# escape of a quote inside JSON output, which must survive).
_QUERY = re.compile(r"\?(?=[^\s\"'<>\\=&?#]+=)[^\s\"'<>\\#]*")
_PAIR = re.compile(r"([^&=;]+)=([^&;]*)")
# scheme://user:password@host; the user stays (it names an account, not a credential).
_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/:@\"'<>]*):([^\s/@\"'<>]+)@")
_BEARER = re.compile(r"\b(Bearer|Token)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_SUBPROTOCOL = re.compile(r"(?<![\w.])token\.[A-Za-z0-9_\-]{8,}")


def _mask_query(match: re.Match[str]) -> str:
    return "?" + _PAIR.sub(lambda pair: f"{pair.group(1)}={MASK}" if pair.group(2) else pair.group(0), match[0][1:])


def redact(text: str) -> str:
    """`text` with every URL query value, URL password and bearer token masked."""
    if not text:
        return text
    text = _QUERY.sub(_mask_query, text)
    text = _USERINFO.sub(rf"\1:{MASK}@", text)
    text = _BEARER.sub(rf"\1 {MASK}", text)
    return _SUBPROTOCOL.sub(f"token.{MASK}", text)


def url_without_password(url: str) -> str:
    """`url` with the password of its user-info masked; everything else as given."""
    return _USERINFO.sub(rf"\1:{MASK}@", url)

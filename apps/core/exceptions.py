"""The platform's error hierarchy: messages a user can act on, naming the bad field.

Domain code raises these for anything a caller can fix or must be told; each door maps them once
(the REST API in apps/api/errors.py, commands to CommandError, the WebSocket to an error frame).
Anything else, a plain ValueError or KeyError included, is a bug: the doors log it and answer
with a server error rather than blame the caller.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """An error the caller can act on; its message says what was wrong."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class BadInputError(ApplicationError):
    """A value the caller gave breaks a rule; `field` names it. `where` says which part of a
    request held it (query, path or body) when a door knows; domain code leaves the default."""

    def __init__(self, field: str, message: str, *, where: str = "query") -> None:
        super().__init__(message, {"field": field})
        self.field = field
        self.where = where


class NotFoundError(ApplicationError):
    """The thing asked for does not exist (or holds no data for what was asked)."""


class UnavailableError(ApplicationError):
    """A backend the operation needs is out of reach, or not of a kind it can read."""

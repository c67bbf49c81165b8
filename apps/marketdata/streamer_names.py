"""The names of the streamers the platform can run, as the `streamers` app registers them when
Django starts (streamers/apps.py). Apps may not import `streamers`; they read the names here."""

from __future__ import annotations

from collections.abc import Callable

_names: list[str] = []
_configured: dict[str, Callable[[], bool]] = {}


def _always() -> bool:
    return True


def streamer_name_register(*, name: str, configured: Callable[[], bool] = _always) -> None:
    """Register a streamer's name (once per name; registering it again changes nothing) and how
    to tell whether this deployment runs it (its switch is on)."""
    if name not in _names:
        _names.append(name)
        _configured[name] = configured


def streamer_configured(name: str) -> bool:
    """True when this deployment runs the streamer `name` (unknown names: False)."""
    check = _configured.get(name)
    return check is not None and check()


def streamer_names() -> tuple[str, ...]:
    """Every registered streamer name, in registration order."""
    return tuple(_names)

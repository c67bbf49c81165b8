"""The names of the streamers the platform can run, as the `streamers` app registers them when
Django starts (streamers/apps.py). Apps may not import `streamers`; they read the names here."""

from __future__ import annotations

_names: list[str] = []


def streamer_name_register(*, name: str) -> None:
    """Register a streamer's name (once per name; registering it again changes nothing)."""
    if name not in _names:
        _names.append(name)


def streamer_names() -> tuple[str, ...]:
    """Every registered streamer name, in registration order."""
    return tuple(_names)

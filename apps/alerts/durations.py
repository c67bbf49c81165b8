"""Mute durations as people type them: `30m`, `2h`, `1h30m`, `1d`, `90s`."""

from __future__ import annotations

import re
from datetime import timedelta

from apps.core.exceptions import BadInputError

MAX_MUTE = timedelta(days=7)
_DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$")
EXAMPLES = "30m, 2h, 1h30m, 1d"


def duration_parse(text: str) -> timedelta:
    """The duration `text` says; BadInputError naming `duration` when it is not one, is zero, or
    is longer than MAX_MUTE."""
    raw = text.strip().lower()
    found = _DURATION.match(raw)
    if not raw or found is None:
        raise BadInputError("duration", f"{text[:20]!r} is not a duration: use e.g. {EXAMPLES}")
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise BadInputError("duration", f"{text[:20]!r} is no time at all: use e.g. {EXAMPLES}")
    if duration > MAX_MUTE:
        raise BadInputError("duration", f"{text[:20]!r} is longer than the longest mute ({MAX_MUTE.days} days)")
    return duration

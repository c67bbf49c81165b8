"""`manage.py replay`: list the sandboxes, show one, pause and resume it, delete it; an unknown or
invalid id is refused by name."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.marketdata.replays import replay_get
from tests.replays import day_events, events_file, run_replay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.calendar]


def replay_command(*args: str) -> str:
    out = StringIO()
    call_command("replay", *args, stdout=out)
    return out.getvalue()


def test_list_show_and_delete_a_replay_of_20_november(tmp_path: Path) -> None:
    assert replay_command("list") == "no replays\n"
    run_replay(events_file(tmp_path / "day.jsonl", day_events(20)), replay_id="nov20", expire_seconds=None)
    listed = replay_command("list")
    assert listed.startswith("nov20  finished  clock 2026-11-20 14:30:00 UTC  ")
    assert "kept until deleted" in listed
    assert replay_command("show", "nov20") == listed
    with pytest.raises(CommandError, match="replay 'nov20' is finished: there is nothing to pause or resume"):
        replay_command("pause", "nov20")
    assert replay_command("delete", "nov20").startswith("replay nov20: deleted (")
    assert replay_get(replay_id="nov20") is None


def test_pause_and_resume_set_the_request_the_replay_follows(tmp_path: Path) -> None:
    # A replay that never started (its process was stopped while paused) can still be resumed.
    from apps.core import keys
    from apps.core.redis import get_redis

    get_redis().hset(keys.replay_state("waiting"), mapping={"state": "paused", "paused": 1, "created_at": "x"})
    assert replay_command("resume", "waiting") == "replay waiting: resume requested\n"
    state = replay_get(replay_id="waiting")
    assert state is not None
    assert state.paused is False
    replay_command("pause", "waiting")
    state = replay_get(replay_id="waiting")
    assert state is not None
    assert state.paused is True


def test_an_unknown_or_invalid_id_is_refused_by_name() -> None:
    with pytest.raises(CommandError, match="no replay 'nope': it never ran here"):
        replay_command("delete", "nope")
    with pytest.raises(CommandError, match="replay id 'No Pe' is not valid"):
        replay_command("show", "No Pe")


def test_run_streamer_refuses_a_replay_id_in_use_or_invalid(tmp_path: Path) -> None:
    """A new replay never writes into another's sandbox."""
    recorded = events_file(tmp_path / "day.jsonl", day_events(5))
    run_replay(recorded, replay_id="taken")
    with pytest.raises(
        CommandError, match=r"--replay-id 'taken' is in use; delete it \(manage.py replay delete taken\)"
    ):
        call_command("run_streamer", "replay", "--file", str(recorded), "--replay-id", "taken", "--metrics-port", "0")
    with pytest.raises(CommandError, match="--replay-id: replay id 'Taken!' is not valid"):
        call_command("run_streamer", "replay", "--file", str(recorded), "--replay-id", "Taken!", "--metrics-port", "0")

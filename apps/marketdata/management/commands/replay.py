"""`manage.py replay list|show|pause|resume|delete`: the replay sandboxes (`run_streamer replay`
starts one), their clock and progress, pause and resume, and deleting one before it expires."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import ApplicationError
from apps.marketdata.replays import ReplayState, replay_require, replays_list
from apps.marketdata.services.replays import replay_delete, replay_pause_set


def _line(state: ReplayState) -> str:
    clock = state.clock.strftime("%Y-%m-%d %H:%M:%S UTC") if state.clock else "--"
    done = f"{state.done:,}" + (f"/{state.total:,}" if state.total else "")
    life = "kept until deleted" if state.ttl_seconds is None else f"expires in {state.ttl_seconds / 3600:.1f} h"
    paused = " (pause requested)" if state.paused and state.state == "running" else ""
    return (
        f"{state.replay_id}  {state.state}{paused}  clock {clock}  {done} events  speed {state.speed:g}"
        f"  {','.join(state.symbols) or '-'}  {state.source}  {life}"
    )


class Command(BaseCommand):
    help = "Replay sandboxes: list them, show one, pause or resume a running replay, delete one."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        actions.add_parser("list", help="every replay sandbox, oldest first")
        for action, text in (
            ("show", "one replay's state"),
            ("pause", "pause a running replay (its clock stops; the ETA leaves the pause out)"),
            ("resume", "resume a paused replay (or one started with --paused)"),
            ("delete", "delete a replay's sandbox now (stop its process first)"),
        ):
            actions.add_parser(action, help=text).add_argument("replay_id", metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                states = replays_list()
                for state in states:
                    self.stdout.write(_line(state))
                if not states:
                    self.stdout.write("no replays")
                return
            replay_id = options["replay_id"]
            if action == "show":
                self.stdout.write(_line(replay_require(replay_id=replay_id, field="ID")))
            elif action in ("pause", "resume"):
                replay_pause_set(replay_id=replay_id, paused=action == "pause")
                self.stdout.write(f"replay {replay_id}: {action} requested")
            else:
                removed = replay_delete(replay_id=replay_id)
                self.stdout.write(f"replay {replay_id}: deleted ({removed} keys)")
        except ApplicationError as error:
            raise CommandError(error.message) from None

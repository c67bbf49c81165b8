"""One chain of poll tasks per poller group, each run scheduling the next for when something is due.

Beat used to send a poll task every second per group, and most of them found nothing due: in
regular hours one in five (5-second intervals), at night and at weekends all of them — about six
worker log lines a second and a Flower task list of no-ops. Now each poll run works out when the
next ticker and category fall due (`poll_next_delay`) and sends the next run with that countdown;
beat only sends a keeper a minute per group, which starts a chain when none is alive.

A chain is alive while its token is in `gex:poll:chain:<group>` (expiring GRACE_SECONDS after the
next run is due). A run whose token is no longer the stored one stops without polling, so two
chains never poll side by side; a chain lost with its worker (the message is acknowledged on
receipt) expires and the keeper starts another within about a minute and a half.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import redis

from apps.core import keys
from apps.core.runtime_config import runtime_value
from apps.gex.polling import PollGroup, group_labels, poll_interval
from apps.gex.sources import GEXDataSource

# Nothing due sooner (polling off in this session, no tickers): look again after this long, so
# a changed setting or an opening session is seen within a minute.
IDLE_SECONDS = 60.0
# GEXBot allows one request a second per ticker and metric: never schedule closer than that.
MIN_SECONDS = 1.0
# How long after its due time a chain's token outlives a run that never came.
GRACE_SECONDS = 30.0

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


def poll_next_delay(*, group: PollGroup, source: GEXDataSource, moment: datetime, client: redis.Redis) -> float:
    """Seconds until the first ticker and category of `group` falls due at the session's interval."""
    intervals = runtime_value("gex.nq_intervals" if group is PollGroup.NQ else "gex.intervals")
    interval = poll_interval(moment=moment, intervals=intervals, always_open=source.name == "simulated")
    if interval is None:
        return IDLE_SECONDS
    labels = group_labels(group=group, source=source, client=client)
    if not labels:
        return IDLE_SECONDS
    last_polled = client.hmget(keys.GEX_POLL_LAST, labels)
    now = time.time()
    waits = [0.0 if last is None else float(last) + interval - now for last in last_polled]
    return min(max(min(waits), MIN_SECONDS), IDLE_SECONDS)


def poll_chain_start(*, group: PollGroup, client: redis.Redis) -> str | None:
    """A new chain's token, or None when a chain of this group is alive."""
    token = secrets.token_hex(8)
    started = client.set(
        keys.gex_poll_chain(group.value), token, nx=True, px=int((IDLE_SECONDS + GRACE_SECONDS) * 1000)
    )
    return token if started else None


def poll_chain_extend(*, group: PollGroup, token: str, delay: float, client: redis.Redis) -> bool:
    """Keep the chain `token` alive until its next run (due in `delay` s) plus the grace; False,
    and nothing changed, when another chain has taken over or this one had expired."""
    ttl_ms = int((delay + GRACE_SECONDS) * 1000)
    return bool(client.eval(_EXTEND, 1, keys.gex_poll_chain(group.value), token, ttl_ms))


def poll_chain_owns(*, group: PollGroup, token: str, client: redis.Redis) -> bool:
    stored = client.get(keys.gex_poll_chain(group.value))
    return stored is not None and (stored.decode() if isinstance(stored, bytes) else str(stored)) == token

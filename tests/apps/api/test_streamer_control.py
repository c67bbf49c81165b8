"""The control endpoints against a real `manage.py run_streamer` process reading a simulator
server over a WebSocket: resubscribe goes over the open connection, stop and start follow the
runtime setting without a restart."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator

import msgspec
import pytest
import websockets
from websockets.asyncio.server import ServerConnection

from apps.accounts.models import ControlAction
from apps.marketdata.selectors import streamer_status
from streamers.simulator.client import MarketPacer
from streamers.simulator.market import SimulatedMarket
from streamers.simulator.server import SimulatorServer
from tests.apps.api.conftest import make_caller
from tests.conftest import ProcessGroup

pytestmark = pytest.mark.slow


class ResubscribableSimulatorServer(SimulatorServer):
    """The simulator server that also reads later subscribe messages on an open connection, as a
    broker's streaming server does, and switches its market to the symbols they name."""

    async def handler(self, websocket: ServerConnection) -> None:
        self.connections += 1
        symbols = list(msgspec.json.decode(await websocket.recv()).get("symbols", []))
        self.subscriptions.append(symbols)
        pacer = MarketPacer(SimulatedMarket(symbols=symbols, seed=self.seed + self.connections, rate=self.rate))

        async def listen() -> None:
            async for message in websocket:
                again = list(msgspec.json.decode(message).get("symbols", []))
                self.subscriptions.append(again)
                pacer.market.set_symbols(again)

        listener = asyncio.create_task(listen())
        try:
            while True:
                await websocket.send(await pacer.frame())
        except websockets.ConnectionClosed:
            return
        finally:
            listener.cancel()


@pytest.fixture
def simulator_server() -> Iterator[tuple[ResubscribableSimulatorServer, str]]:
    server = ResubscribableSimulatorServer(rate=50)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    yield server, url
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_resubscribe_stop_and_start_reach_a_running_streamer(
    processes: ProcessGroup,
    process_env: dict[str, str],
    simulator_server: tuple[ResubscribableSimulatorServer, str],
) -> None:
    server, url = simulator_server
    operator = make_caller("operator", staff=True)
    streamer = processes.start(
        "streamer",
        [
            sys.executable,
            "manage.py",
            "run_streamer",
            "simulator",
            "--url",
            url,
            "--symbols",
            "ESZ26",
            "--metrics-port",
            "0",
        ],
        process_env,
    )

    def state() -> str:
        assert streamer.poll() is None, processes.log("streamer")
        return streamer_status(name="simulator").get("state", "")

    wait_for(lambda: state() == "connected", "the streamer to connect")
    assert server.subscriptions == [["ESZ26"]]

    response = operator.post("/api/control/streamers/simulator/resubscribe")
    assert response.status_code == 200, response.content
    wait_for(lambda: streamer_status(name="simulator").get("resubscribes") == "1", "the resubscription")
    assert server.subscriptions == [["ESZ26"], ["ESZ26"]], "sent again on the same connection"
    assert server.connections == 1

    assert operator.post("/api/control/streamers/simulator/stop").status_code == 200
    wait_for(lambda: state() == "disabled", "the streamer to switch off")
    assert operator.post("/api/control/streamers/simulator/start").status_code == 200
    wait_for(lambda: state() == "connected" and server.connections == 2, "the streamer to switch on again")
    status = streamer_status(name="simulator")
    assert status["reconnects"] == "0", "switching off and on is not a lost connection"
    assert status["gaps"] == "0"
    rows = {row["name"]: row for row in operator.get("/api/status/streamers").json()}
    assert (rows["simulator"]["state"], rows["simulator"]["enabled"]) == ("connected", True)
    assert list(ControlAction.objects.order_by("pk").values_list("action", "outcome")) == [
        ("streamer.resubscribe", "ok"),
        ("streamer.stop", "ok"),
        ("streamer.start", "ok"),
    ]

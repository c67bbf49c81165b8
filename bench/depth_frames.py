"""Depth panel frame times: how long the heatmap and the ladder take to draw one animation frame in
headless Chromium while a 10-level book changes 1,000 times a second, against the same page
drawing the same frames over a book that does not change, in one run.

    .venv/bin/python -m bench.depth_frames --redis redis://127.0.0.1:6379/14 [--rate 1000] [--seconds 20]

Flushes the given Redis database; a temporary SQLite database holds the staff user the browser
signs in as. Processes: the web server (`uvicorn pipeline_project.asgi:application`, as the
platform starts it), the book writer (`bench.depth_load`, the real hot-store writer, its own
process) and Debian's chromium driven by Playwright. The page records performance.now() around
the heatmap's and the ladder's drawing in every frame (static/dashboard/depth_panel.js); both
phases draw the ladder every frame so they do the same work, and only the book differs. The gap
between animation frames (a frame the browser had to skip shows as a long gap) is measured by
a second requestAnimationFrame loop on the same page. Markdown to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-only-password"  # noqa: S105 - a throw-away user in a throw-away database
GAPS = """seconds => new Promise(resolve => {
    const gaps = []; let last = null; const end = performance.now() + seconds * 1000;
    const step = now => { if (last !== null) gaps.push(now - last); last = now;
        if (now < end) requestAnimationFrame(step); else resolve(gaps); };
    requestAnimationFrame(step); })"""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
    import django

    django.setup()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the web process ended:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer:\n{log.read_text()}")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average {load:.1f} at the start"
    )


def _phase(page: Any, seconds: float) -> dict[str, Any]:
    """Frame times and gaps over `seconds`, and the book changes the page applied meanwhile."""
    page.evaluate("() => window.dashboard.depth.frames.reset()")
    applied = page.evaluate("() => window.dashboard.depth.book.applied")
    gaps = page.evaluate(GAPS, seconds)
    frames = page.evaluate("() => window.dashboard.depth.frames.list()")
    applied = page.evaluate("() => window.dashboard.depth.book.applied") - applied
    return {"frames": frames, "gaps": gaps, "applied_per_s": applied / seconds}


def _row(name: str, phase: dict[str, Any]) -> str:
    frames = phase["frames"]
    cells = []
    for key in ("total", "heatmap", "ladder"):
        values = [frame[key] for frame in frames]
        cells.append(f"{_quantile(values, 0.5):.2f} / {_quantile(values, 0.95):.2f}")
    total = [frame["total"] for frame in frames]
    gaps = phase["gaps"]
    return (
        f"| {name} | {phase['applied_per_s']:,.0f} | {len(frames)} | {' | '.join(cells)} | {max(total):.2f} "
        f"| {statistics.median(gaps):.1f} / {_quantile(gaps, 0.95):.1f} |"
    )


def _browse(
    *, base: str, symbol: str, chromium: str, args: argparse.Namespace, env: dict[str, str], work: Path
) -> tuple[dict[str, Any], dict[str, Any], subprocess.Popen[bytes]]:
    """Sign in, start the writer, measure the loaded phase, then the same page once the book stops."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1300})
            page.goto(f"{base}/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/")
            page.wait_for_function("s => window.dashboard.depth.state.symbol === s", arg=symbol)
            page.evaluate("() => { window.dashboard.depth.state.drawAlways = true; }")
            load_args = [sys.executable, "-m", "bench.depth_load", "--symbol", symbol, "--rate", str(args.rate)]
            load_seconds = args.warmup + args.seconds + 2
            load = _start([*load_args, "--seconds", str(load_seconds)], env, work / "load.log")
            page.wait_for_function("() => window.dashboard.depth.book.applied > 0", timeout=60_000)
            time.sleep(args.warmup)
            loaded = _phase(page, args.seconds)
            if load.wait(timeout=load_seconds + 60) != 0:
                raise SystemExit((work / "load.log").read_text())
            # The same page and book, no longer changing: the reference.
            time.sleep(1)
            static = _phase(page, args.seconds)
        finally:
            browser.close()
    return loaded, static, load


def orchestrate(args: argparse.Namespace) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    work = Path(tempfile.mkdtemp(prefix="depth-frames-"))
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": args.redis,
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
            "PYTHONUNBUFFERED": "1",
        }
    )
    os.environ.update(env)
    _setup_django()
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.core.clock import utc_now
    from apps.marketdata.symbols import canonical

    redis.Redis.from_url(args.redis).flushdb()
    call_command("migrate", verbosity=0)
    get_user_model().objects.create_user(username="bench", password=PASSWORD, is_staff=True)
    symbol = canonical("ES", at=utc_now())
    machine = _machine()
    port = _free_port()
    web = _start(
        [
            sys.executable, "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--lifespan", "off", "--log-level", "warning",
        ],
        env,
        work / "web.log",
    )  # fmt: skip
    load: subprocess.Popen[bytes] | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/health/live", web, work / "web.log")
        loaded, static, load = _browse(base=base, symbol=symbol, chromium=chromium, args=args, env=env, work=work)
    finally:
        if load is not None:
            _stop(load)
        _stop(web)

    version = subprocess.run([chromium, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"\nMachine: {machine}; {version} headless (software rendering), viewport 1440x1300.")
    print(
        f"Book: {symbol}, 10 levels a side, {args.rate} changes/s written by bench.depth_load in 10 ms batches; "
        f"{args.seconds:g} s measured per phase after {args.warmup:g} s warm-up.\n"
    )
    print(
        "| phase | depth operations applied/s | frames | draw ms p50 / p95 (heatmap + ladder) | heatmap p50 / p95 "
        "| ladder p50 / p95 | draw max ms | frame gap ms p50 / p95 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(_row(f"{args.rate:,} changes/s", loaded))
    print(_row("same page, book not changing (reference)", static))
    print(f"\nLogs: {work}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", required=True, help="a Redis database this run may flush")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    orchestrate(parser.parse_args())


if __name__ == "__main__":
    main()

"""Following a job from the command line: a rich progress bar on a terminal, plain lines in a pipe."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from apps.batch.models import BatchJob
from apps.batch.services import job_progress

POLL_SECONDS = 0.5
# In a pipe, one line per this many seconds at most (and on every unit's end).
LINE_EVERY_SECONDS = 5.0


def progress_line(job: BatchJob) -> str:
    shown = job_progress(job)
    total = shown["total"]
    percent = f" ({100 * shown['done'] / total:.1f}%)" if total else ""
    return f"job {job.pk} {job.kind}: {job.state} {shown['done']:,}/{total:,} {shown['unit']}{percent}"


def follow(job_id: int, *, out: Any, tty: bool | None = None) -> BatchJob:
    """Show a job's progress until it ends (done, failed, cancelled or paused); `out` is a
    command's stdout (an OutputWrapper) or a text stream."""
    tty = bool(out.isatty()) if tty is None else tty
    job = BatchJob.objects.get(pk=job_id)
    if tty:
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"))
        console = Console(file=getattr(out, "_out", out), force_terminal=True)
        with Progress(*columns, TimeRemainingColumn(), console=console, transient=False) as bar:
            task = bar.add_task(f"job {job.pk} {job.kind}", total=job.progress_total or None, count="")
            while True:
                job.refresh_from_db()
                shown = job_progress(job)
                bar.update(task, completed=shown["done"], count=f"{shown['done']:,} {shown['unit']}")
                if job.state not in (BatchJob.State.QUEUED, BatchJob.State.RUNNING):
                    return job
                time.sleep(POLL_SECONDS)
    last_line, last_time = "", 0.0
    while True:
        job.refresh_from_db()
        line = progress_line(job)
        ended = job.state not in (BatchJob.State.QUEUED, BatchJob.State.RUNNING)
        if line != last_line and (ended or time.monotonic() - last_time >= LINE_EVERY_SECONDS):
            out.write(line)
            out.flush()
            last_line, last_time = line, time.monotonic()
        if ended:
            return job
        time.sleep(POLL_SECONDS)

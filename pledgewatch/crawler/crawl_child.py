"""Running one crawl as a child process of the CLI, with a time limit and a clean stop.

Scrapy's Twisted reactor cannot be restarted inside a process, and a crawl that leaks memory or
crashes must not take the daemon down, so every scheduled crawl is `pledgewatch crawl ... --json`
in a child process: the daemon's contract with the crawl is that command line and its JSON summary.
The child gets its own session (process group), so a Ctrl-C in the daemon's terminal reaches the
daemon only; the daemon then decides to let the child finish or to stop it (SIGTERM to the group,
which Scrapy answers with a graceful shutdown, then SIGKILL if it does not exit).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pledgewatch.config import DB_ENV, Config
from pledgewatch.store import crawlruns
from pledgewatch.store.models import utcnow

# After SIGTERM, how long a child gets to close its spider and write its summary before SIGKILL.
KILL_AFTER_SECONDS = 15.0
RUN_ID_ENV = "PLEDGEWATCH_CRAWL_RUN_ID"
TRIGGER_ENV = "PLEDGEWATCH_CRAWL_TRIGGER"


@dataclass
class ChildResult:
    """How a crawl child ended: ok, failed, timeout (time limit) or interrupted (daemon stopping)."""

    status: str
    returncode: int | None
    summary: dict[str, Any] | None
    stderr_tail: list[str]
    seconds: float

    @property
    def run_status(self) -> str:
        """The crawl_runs status this outcome is recorded as."""
        return {"ok": "ok", "failed": "failed"}.get(self.status, "interrupted")


def crawl_command(config: Config, db_url: str, sources: Sequence[str]) -> list[str]:
    """The child's command line: the same `pledgewatch crawl` a user runs, minus two exposures.

    The database URL (which may carry a PostgreSQL password) is not on it: every local user can
    read any process's argv (``ps``), so it travels in the environment (:func:`crawl_env`), which
    only the same user can read. And Python runs isolated (``-I``): with ``-m`` it would otherwise
    put the daemon's working directory first on the import path, so a ``secrets.py`` (or
    ``typer.py``...) lying there would be imported and run by the crawl child.
    """
    del db_url  # passed by crawl_env, never in argv
    argv = [sys.executable, "-I", "-m", "pledgewatch"]
    if config.path is not None:
        argv += ["--config", str(config.path)]
    argv += ["crawl", *sources, "--json"]
    if config.cluster.redis_url:
        # A cluster: the child queues the start requests; `pledgewatch worker` processes crawl them.
        argv.append("--enqueue")
    if config.crawl.replay:
        argv += ["--replay", config.crawl.replay]
    return argv


def crawl_env(db_url: str) -> dict[str, str]:
    """The environment that hands the child its database (``$PLEDGEWATCH_DB``, read by load_config)."""
    return {DB_ENV: db_url}


def parse_summary(stdout: str) -> dict[str, Any] | None:
    """The crawl's JSON summary: the whole output, or else its last line that is a JSON object."""
    text = stdout.strip()
    candidates = [text, *reversed([line.strip() for line in text.splitlines()])]
    for candidate in candidates:
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def failed_sources(summary: dict[str, Any] | None) -> list[str]:
    """The summary's sources that reached nothing, as ``"name: why"`` lines (the CLI's own words)."""
    sources = (summary or {}).get("sources")
    if not isinstance(sources, dict):
        return []
    return [
        f"{name}: {result.get('reason') or 'failed'}"
        for name, result in sources.items()
        if isinstance(result, dict) and result.get("status") == "failed"
    ]


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def run_child(
    argv: Sequence[str],
    *,
    time_limit: float,
    stop: threading.Event,
    stop_grace: float,
    env: dict[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    kill_after: float = KILL_AFTER_SECONDS,
) -> ChildResult:
    """Run ``argv`` to completion, stopping it at ``time_limit`` or ``stop_grace`` after ``stop``."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    if on_start is not None:
        on_start(process.pid)
    reason: str | None = None
    stop_deadline: float | None = None
    kill_at: float | None = None
    while True:
        try:
            stdout, stderr = process.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if reason is None:
                if now - started >= time_limit:
                    reason = "timeout"
                elif stop.is_set():
                    stop_deadline = stop_deadline or now + stop_grace
                    if now >= stop_deadline:
                        reason = "interrupted"
                if reason is not None:
                    _signal_group(process, signal.SIGTERM)
                    kill_at = now + kill_after
            elif kill_at is not None and now >= kill_at:
                _signal_group(process, signal.SIGKILL)
                kill_at = None
    seconds = time.monotonic() - started
    summary = parse_summary(stdout or "")
    # Lines that say something (not the frame of a rich error box), without the frame.
    frame = "│╭╰─╮╯ "
    tail = [line.strip(frame) for line in (stderr or "").splitlines() if any(c.isalnum() for c in line)][-20:]
    if reason is not None:
        status = reason
    elif process.returncode == 0 and summary is not None:
        status = "ok"
    else:
        status = "failed"
    return ChildResult(
        status=status, returncode=process.returncode, summary=summary, stderr_tail=tail, seconds=seconds
    )


@dataclass
class CrawlOutcome:
    """One supervised crawl: skipped (blocked by a running crawl) or run, with its result."""

    sources: list[str]
    run_id: int | None
    result: ChildResult | None
    skipped_because: str | None = None
    # Why a crawl did not end ok (the time limit, the exit code), as recorded in crawl_runs.
    reason: str = ""

    @property
    def went_wrong(self) -> bool:
        """Timed out or failed: worth a WARNING (a skip or a stop on request is not)."""
        return self.result is not None and self.result.status in {"timeout", "failed"}

    def describe(self) -> str:
        names = ",".join(self.sources) or "all sources"
        if self.result is None:
            return f"crawl {names}: skipped, {self.skipped_because}"
        s = self.result.summary or {}
        counts = ", ".join(
            f"{s[k]} {k.replace('_', ' ')}"
            for k in (
                "pages_fetched",
                "enqueued",
                "articles_new",
                "articles_updated",
                "pledges_new",
                "errors",
            )
            if k in s
        )
        line = f"crawl {names} (run {self.run_id}): {self.result.status} in {self.result.seconds:.1f} s"
        if counts:
            line += f": {counts}"
        outside = int(s.get("outside_window") or 0)
        if outside and not s.get("articles_new") and not s.get("articles_updated"):
            # "0 articles new" needs its why: the window dropped what the sources link to.
            line += (
                f"; {outside} links led to articles published before the window, not stored "
                "([crawl] window_days)"
            )
        skipped = s.get("skipped") or {}
        if isinstance(skipped, dict) and skipped:
            # A cluster run: sources whose previous run the workers are still crawling.
            line += "; not enqueued: " + "; ".join(f"{name}: {why}" for name, why in skipped.items())
        if self.result.status != "ok" and self.reason:
            line += f"; {self.reason}"
        if self.result.status != "ok" and self.result.stderr_tail:
            line += f"; last error output: {self.result.stderr_tail[-1][:300]}"
        return line


def supervised_crawl(
    config: Config,
    db_url: str,
    session_factory: Callable[[], Any],
    sources: Sequence[str],
    *,
    stop: threading.Event,
    stop_grace: float,
    trigger: str = "daemon",
) -> CrawlOutcome:
    """Guard, run and record one crawl child: what both the daemon and `run --once` do."""
    limit = float(config.schedule.crawl_time_limit)
    with session_factory() as session:
        run, blocker = crawlruns.begin_crawl(
            session,
            sources,
            time_limit=timedelta(seconds=limit),
            replay=config.crawl.replay or None,
            trigger=trigger,
        )
    if run is None:
        assert blocker is not None
        return CrawlOutcome(
            sources=list(sources), run_id=None, result=None, skipped_because=blocker.describe()
        )
    spawned_at = utcnow()

    def record_pid(pid: int) -> None:
        with session_factory() as session:
            crawlruns.set_crawl_pid(session, run.id, pid)

    try:
        result = run_child(
            crawl_command(config, db_url, sources),
            time_limit=limit,
            stop=stop,
            stop_grace=stop_grace,
            env={**crawl_env(db_url), RUN_ID_ENV: str(run.id), TRIGGER_ENV: trigger},
            on_start=record_pid,
        )
    except OSError as exc:
        with session_factory() as session:
            crawlruns.finish_crawl(session, run.id, "failed", None, [f"could not start the crawl: {exc}"])
        raise
    errors: list[str] = []
    if result.status == "timeout":
        errors.append(f"time limit of {limit:.0f} s reached: the crawl child was stopped")
    elif result.status == "interrupted":
        errors.append("the daemon was stopping: the crawl child was stopped after the grace period")
    elif result.status == "failed":
        unreachable = failed_sources(result.summary)
        if unreachable:
            # The crawl ran and said why it failed: a source that reached nothing.
            errors.extend(unreachable)
        else:
            errors.append(f"crawl child exited with code {result.returncode}")
            errors.extend(result.stderr_tail[-5:])
    with session_factory() as session:
        crawlruns.finish_crawl(session, run.id, result.run_status, result.summary, errors)
        if result.status in {"timeout", "interrupted"}:
            crawlruns.interrupt_orphans(session, sources, spawned_at, errors[0])
        crawlruns.absorb_child_run(session, run.id, spawned_at, sources)
    return CrawlOutcome(
        sources=list(sources), run_id=run.id, result=result, reason=errors[0] if errors else ""
    )

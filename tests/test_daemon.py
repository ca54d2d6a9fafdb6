"""The daemon: schedules, crawl children, the crawl guard, and a real daemon process with real SMTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from conftest import run_cli
from helpers_daemon import SmtpSink, free_port, mail_config, seed_archive, subjects
from sqlalchemy import select, text

from pledgewatch.config import load_config
from pledgewatch.crawler.crawl_child import parse_summary, run_child, supervised_crawl
from pledgewatch.errors import ConfigError
from pledgewatch.notify.alerts import is_alertable
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.scheduler import crawl_groups, digest_due, parse_schedule
from pledgewatch.store import crawlruns, db
from pledgewatch.store import deliveries as store
from pledgewatch.store.models import CrawlRun, PledgeMention, utcnow

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_WEB = REPO_ROOT / "pledgewatch" / "data" / "sampleweb.warc.gz"
HUBEI_SUBJECT = "New pledge: JD.com to invest RMB 6 bn in Hubei over 3 years"
NORTHEAST_SUBJECT = "New pledge: JD.com to invest RMB 20 bn in Heilongjiang, Jilin, Liaoning over 3 years"


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def daemon_config(
    path: Path, port: int, *, crawl: str = "every 2s", digest: str = "every 2s", extra: str = ""
):
    schedule = f'crawl = "{crawl}"\ndigest = "{digest}"\ntimezone = "Asia/Shanghai"\n'
    return mail_config(path, port, schedule=schedule, sources_off=True, extra=extra)


# -- schedule syntax ------------------------------------------------------------------------


def test_schedule_expressions(tmp_path):
    config = load_config(daemon_config(tmp_path / "pw.toml", 25))
    every = parse_schedule("every 2s", "crawl", config)
    assert isinstance(every, IntervalTrigger) and every.interval == timedelta(seconds=2)
    assert parse_schedule("every 30m", "crawl", config).interval == timedelta(minutes=30)
    assert parse_schedule("every 2h", "crawl", config).interval == timedelta(hours=2)
    cron = parse_schedule("0 */2 * * *", "crawl", config)
    assert isinstance(cron, CronTrigger) and str(cron.timezone) == "Asia/Shanghai"
    # 08:00 in Shanghai is 00:00 UTC.
    first = parse_schedule("0 8 * * *", "digest", config).get_next_fire_time(
        None, datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    )
    assert first.astimezone(UTC) == datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
    assert parse_schedule("off", "digest", config) is None


@pytest.mark.parametrize("bad", ["0 */2 * *", "every 5 parsecs", "every 0m", "61 * * * *"])
def test_bad_schedule_names_the_key_and_the_file(tmp_path, bad):
    path = daemon_config(tmp_path / "pw.toml", 25, crawl=bad)
    with pytest.raises(ConfigError) as caught:
        parse_schedule(bad, "crawl", load_config(path))
    assert "schedule.crawl" in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.slow
def test_run_refuses_a_bad_schedule_in_one_line(tmp_path, sqlite_url):
    path = daemon_config(tmp_path / "pw.toml", 25, crawl="0 */2 * *")
    result = run_cli("--db", sqlite_url, "--config", str(path), "run", "--once")
    assert result.returncode == 2
    assert "schedule.crawl" in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_is_due_once_per_slot(tmp_path):
    config = load_config(daemon_config(tmp_path / "pw.toml", 25, digest="0 8 * * *"))
    trigger = parse_schedule(config.schedule.digest, "digest", config)
    shanghai = trigger.timezone
    last = datetime(2026, 3, 1, 8, 0, 30, tzinfo=shanghai)
    assert not digest_due(trigger, last, datetime(2026, 3, 2, 7, 59, tzinfo=shanghai))
    assert digest_due(trigger, last, datetime(2026, 3, 2, 8, 1, tzinfo=shanghai))
    assert digest_due(trigger, None, datetime(2026, 3, 2, 7, 0, tzinfo=shanghai))
    every = parse_schedule("every 2h", "digest", config)
    assert not digest_due(every, last, last + timedelta(minutes=119))
    assert digest_due(every, last, last + timedelta(minutes=120))
    assert not digest_due(None, None, last)


def test_per_source_makes_one_crawl_group_per_enabled_source(tmp_path):
    path = write_config(
        tmp_path / "pw.toml", "[schedule]\nper_source = true\n[sources.people]\nenabled = false\n"
    )
    assert crawl_groups(load_config(path)) == [["jd"], ["chinadaily"]]
    assert crawl_groups(load_config(write_config(tmp_path / "all.toml", ""))) == [
        ["jd", "chinadaily", "people"]
    ]


# -- crawl children -------------------------------------------------------------------------

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(60)",
]


@pytest.mark.slow
def test_a_child_past_its_time_limit_is_stopped():
    started = time.monotonic()
    result = run_child(SLEEPER, time_limit=1.0, stop=threading.Event(), stop_grace=30)
    assert result.status == "timeout" and result.run_status == "interrupted"
    assert result.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_child_ignoring_sigterm_is_killed():
    result = run_child(STUBBORN, time_limit=1.0, stop=threading.Event(), stop_grace=30, kill_after=0.5)
    assert result.status == "timeout" and result.returncode == -signal.SIGKILL
    assert result.seconds < 5


@pytest.mark.slow
def test_on_stop_a_running_child_may_finish_within_the_grace_period():
    stop = threading.Event()
    stop.set()
    finisher = [
        sys.executable,
        "-c",
        "import time, json; time.sleep(1); print(json.dumps({'pages_fetched': 3}))",
    ]
    result = run_child(finisher, time_limit=60, stop=stop, stop_grace=10)
    assert result.status == "ok" and result.summary == {"pages_fetched": 3}
    result = run_child(SLEEPER, time_limit=60, stop=stop, stop_grace=0.5)
    assert result.status == "interrupted" and result.seconds < 5


def test_summary_is_the_json_line_of_the_output():
    assert parse_summary('progress...\n{"pages_fetched": 2, "errors": 0}\n') == {
        "pages_fetched": 2,
        "errors": 0,
    }
    assert parse_summary(json.dumps({"a": 1}, indent=2)) == {"a": 1}
    assert parse_summary("no summary") is None


@pytest.mark.slow
def test_a_crawl_child_that_fails_is_recorded_and_the_caller_carries_on(tmp_path, sqlite_url):
    """Whatever the crawl command does, a failure ends as a failed crawl_runs row with its error."""
    config = load_config(
        write_config(tmp_path / "pw.toml", '[crawl]\nreplay = "/nonexistent/archive.warc.gz"\n')
    )
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    outcome = supervised_crawl(config, sqlite_url, sessions, ["jd"], stop=threading.Event(), stop_grace=5)
    assert outcome.result is not None and outcome.result.status == "failed"
    with sessions() as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.trigger == "daemon")).all()
    assert len(runs) == 1 and runs[0].status == "failed" and runs[0].finished_at is not None
    assert runs[0].pid is not None and runs[0].pid != os.getpid()  # the child's
    assert any("exited with code" in line for line in runs[0].error_log)
    engine.dispose()


# -- the crawl guard ------------------------------------------------------------------------


@pytest.mark.slow
def test_no_two_crawls_of_a_source_overlap(sessions):
    sleeper = subprocess.Popen(SLEEPER)
    limit = timedelta(hours=1)
    try:
        with sessions() as session:
            session.add(
                CrawlRun(
                    status="running",
                    trigger="daemon",
                    sources=["jd"],
                    pid=sleeper.pid,
                    host=crawlruns.this_host(),
                )
            )
            session.commit()
            run, blocker = crawlruns.begin_crawl(session, ["jd", "people"], time_limit=limit)
            assert run is None and blocker is not None and blocker.pid == sleeper.pid
            # Another source is free.
            other, none = crawlruns.begin_crawl(session, ["chinadaily"], time_limit=limit)
            assert other is not None and none is None
            crawlruns.finish_crawl(session, other.id, "ok", {"pages_fetched": 4})
    finally:
        sleeper.kill()
        sleeper.wait()
    # The process is gone: its row is marked interrupted and the source is free again.
    with sessions() as session:
        run, blocker = crawlruns.begin_crawl(session, ["jd"], time_limit=limit)
        assert run is not None and blocker is None
        statuses = {
            r.id: (r.status, r.sources) for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))
        }
    assert list(statuses.values()) == [
        ("interrupted", ["jd"]),
        ("ok", ["chinadaily"]),
        ("running", ["jd"]),
    ]


def test_a_running_crawl_of_unknown_process_blocks_until_its_time_limit(sessions):
    limit = timedelta(minutes=5)
    with sessions() as session:
        session.add(CrawlRun(status="running", trigger="cli", sources=[]))
        session.commit()
        run, blocker = crawlruns.begin_crawl(session, ["people"], time_limit=limit)
        assert run is None and blocker is not None  # [] means every source
        session.execute(
            text("UPDATE crawl_runs SET started_at = :old"),
            {"old": (utcnow() - limit - crawlruns.STALE_MARGIN - timedelta(minutes=1)).replace(tzinfo=None)},
        )
        session.commit()
        run, blocker = crawlruns.begin_crawl(session, ["people"], time_limit=limit)
        assert run is not None and blocker is None


def test_the_child_s_own_run_row_is_folded_into_the_daemon_s(sessions):
    with sessions() as session:
        spawned = utcnow()
        run, _ = crawlruns.begin_crawl(session, ["jd", "people"], time_limit=timedelta(hours=1))
        assert run is not None
        disallowed = ["robots.txt: 1 URL disallowed"]
        session.add(
            CrawlRun(
                status="ok", trigger="cli", sources=["people", "jd"], pages_fetched=9, error_log=disallowed
            )
        )
        session.add(CrawlRun(status="ok", trigger="cli", sources=["chinadaily"], error_log=["other"]))
        session.commit()
        crawlruns.finish_crawl(session, run.id, "ok", {"pages_fetched": 9, "articles_new": 2})
        child = crawlruns.absorb_child_run(session, run.id, spawned, ["jd", "people"])
        assert child is not None
        rows = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert [(r.trigger, r.sources, r.pages_fetched) for r in rows] == [
        ("daemon", ["jd", "people"], 9),
        ("cli", ["chinadaily"], 0),
    ]
    assert rows[0].articles_new == 2 and rows[0].error_log == ["robots.txt: 1 URL disallowed"]


# -- the daemon as users run it -------------------------------------------------------------


def _start_daemon(db_url: str, config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PLEDGEWATCH_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pledgewatch", "--db", db_url, "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[int, float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return process.returncode, time.monotonic() - started, stderr


def _wait(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.slow
def test_daemon_delivers_once_through_an_smtp_outage_and_stops_on_sigterm(tmp_path, db_url):
    engine = db.make_engine(db_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        seed_archive(session)
    port = free_port()  # the SMTP server is down at first
    config = daemon_config(tmp_path / "pledgewatch.toml", port)

    def owed():
        with sessions() as session:
            return [s for s in store.deliveries_state(session) if s.status != store.SKIPPED]

    daemon = _start_daemon(db_url, config)
    sink = SmtpSink(port)
    try:
        # Two cycles with the server down: 2 alerts and 1 digest recorded. A pass stops at the
        # first connection that fails, so one of them is tried each cycle and the rest wait.
        # (Attempts are counted when a send starts: wait until the second one has failed.)
        def two_failed() -> bool:
            states = owed()
            return (
                len(states) == 3
                and all(s.status == "pending" for s in states)
                and max(s.attempts for s in states) >= 2
                and any(s.last_error for s in states)
            )

        assert _wait(two_failed), owed()
        tried = [s for s in owed() if s.attempts]
        assert tried and all("refused" in (s.last_error or "").lower() for s in tried)
        sink.start()
        assert sink.wait_for(lambda messages: len(messages) >= 3, timeout=20), subjects(sink.messages)
        time.sleep(3)  # another cycle of both jobs: nothing goes out twice
        messages = sink.messages
        assert len(messages) == 3, subjects(messages)
        alerts = sorted(s for s in subjects(messages) if s.startswith("New pledge"))
        assert alerts == sorted([HUBEI_SUBJECT, NORTHEAST_SUBJECT])
        assert len([s for s in subjects(messages) if s.startswith("pledgewatch digest")]) == 1
        assert {m["Message-ID"] for m in messages} == {s.message_id for s in owed()}
        assert all(s.status == "sent" and s.attempts >= 1 for s in owed()), owed()
    finally:
        code, seconds, stderr = _stop(daemon)
        sink.stop()
    assert code == 0, stderr[-3000:]
    assert seconds < 5, f"SIGTERM took {seconds:.1f} s"
    assert "received SIGTERM" in stderr and "daemon stopped" in stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    # The schedule lives in the database and is kept across a restart.
    with engine.connect() as connection:
        jobs = set(connection.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
    assert jobs == {"crawl", "digest"}
    engine.dispose()


@pytest.mark.slow
def test_run_once_sends_what_is_due_then_nothing(tmp_path, sqlite_url):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
    sink = SmtpSink().start()
    try:
        config = daemon_config(
            tmp_path / "pledgewatch.toml", sink.port, crawl="0 */2 * * *", digest="0 8 * * *"
        )
        first = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert first.returncode == 0, first.stderr
        assert len(sink.messages) == 3  # two alerts and the first digest
        second = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert second.returncode == 0, second.stderr
        assert "digest not due" in second.stderr
        assert len(sink.messages) == 3
    finally:
        sink.stop()
    engine.dispose()


def _crawl_command_available() -> bool:
    probe = run_cli("crawl", "--help", timeout=60)
    return probe.returncode == 0


@pytest.mark.slow
def test_daemon_crawls_the_sample_web_and_delivers_alerts_and_one_digest(tmp_path, sqlite_url):
    """End to end: the daemon crawls the sample web by replay, alerts every new JD pledge once."""
    if not SAMPLE_WEB.exists():
        pytest.skip(f"needs the sample web archive {SAMPLE_WEB} (branch sampleweb)")
    if not _crawl_command_available():
        pytest.skip("needs the `pledgewatch crawl` command (branch scrapycore)")
    sink = SmtpSink().start()
    config = write_config(
        tmp_path / "pledgewatch.toml",
        f"""
[schedule]
crawl = "every 3s"
digest = "every 3s"
crawl_time_limit = 120

[crawl]
replay = "{SAMPLE_WEB}"
window_days = 0

[email]
host = "127.0.0.1"
port = {sink.port}
recipients = ["analyst@example.org"]
alert_max_age_days = 0
""",
    )
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    daemon = _start_daemon(sqlite_url, config)

    def finished_runs():
        with sessions() as session:
            return session.scalars(
                select(CrawlRun).where(CrawlRun.trigger == "daemon", CrawlRun.status != "running")
            ).all()

    try:
        assert _wait(lambda: len(finished_runs()) >= 2, timeout=240), "the daemon did not crawl twice"
        time.sleep(4)
    finally:
        code, seconds, stderr = _stop(daemon)
        sink.stop()
    assert code == 0 and seconds < 60, stderr[-3000:]
    runs = finished_runs()
    assert runs[0].status == "ok" and runs[0].articles_new > 0, runs[0].error_log
    with sessions() as session:  # one row per crawl: the child's own row is folded into the daemon's
        assert {r.trigger for r in session.scalars(select(CrawlRun))} == {"daemon"}
    assert runs[1].articles_new == 0  # the second crawl finds nothing new
    watchlist = Watchlist(load_config(config).watchlist)
    with sessions() as session:
        alert_states = store.deliveries_state(session, store.ALERT)
        # Every new or revised watch-list pledge went out; nothing is left owed.
        left = [m for m in store.alert_candidates(session) if is_alertable(m, watchlist)]
        new_watched = session.scalars(
            select(PledgeMention).where(PledgeMention.is_new.is_(True) | PledgeMention.is_revision.is_(True))
        ).all()
        expected = sum(1 for m in new_watched if watchlist.match(m.pledge.actor))
    assert left == []
    assert len(alert_states) == expected > 0
    alert_subjects = [s for s in subjects(sink.messages) if s.startswith(("New pledge", "Revised pledge"))]
    assert len(alert_subjects) == len(alert_states) == len(set(s.message_id for s in alert_states))
    assert any("Hubei" in s and "JD.com" in s for s in alert_subjects), alert_subjects
    digests = [m for m in sink.messages if str(m["Subject"]).startswith("pledgewatch digest")]
    assert len(digests) == 1
    engine.dispose()


@pytest.mark.slow
def test_schedule_survives_a_restart_and_missed_runs_coalesce(tmp_path, sqlite_url):
    from apscheduler.events import EVENT_JOB_EXECUTED

    from pledgewatch.scheduler import Daemon

    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    config = load_config(daemon_config(tmp_path / "pw.toml", 25, crawl="every 1h", digest="0 8 * * *"))

    def started(cfg):
        daemon = Daemon(cfg, sqlite_url, engine)
        scheduler = daemon.make_scheduler()
        scheduler.start(paused=True)
        daemon.reconcile(scheduler)
        return scheduler

    first = started(config)
    planned = {job.id: job.next_run_time for job in first.get_jobs()}
    assert set(planned) == {"crawl", "digest"}
    first.shutdown(wait=False)

    # A restart with the same configuration keeps the stored jobs and their next runs.
    second = started(config)
    assert {job.id: job.next_run_time for job in second.get_jobs()} == planned
    # The daemon was down through three crawl slots: they run once, not three times.
    second.modify_job("crawl", next_run_time=datetime.now(UTC) - timedelta(hours=3, minutes=1))
    executed: list[str] = []
    second.add_listener(lambda event: executed.append(event.job_id), EVENT_JOB_EXECUTED)
    second.resume()
    assert _wait(lambda: executed == ["crawl"], timeout=10)
    time.sleep(1)
    assert executed == ["crawl"]
    assert second.get_job("crawl").next_run_time > datetime.now(UTC)
    second.shutdown(wait=True)

    # A changed expression replaces the job.
    changed = load_config(daemon_config(tmp_path / "pw2.toml", 25, crawl="every 2h", digest="0 8 * * *"))
    third = started(changed)
    assert str(third.get_job("crawl").trigger) == "interval[2:00:00]"
    assert third.get_job("digest").next_run_time == planned["digest"]
    third.shutdown(wait=False)
    engine.dispose()

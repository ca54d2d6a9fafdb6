"""The daemon tells the operator once when a source turns degraded, and once when it recovers.

Real crawls (replayed WARCs), the daemon's own cycle (`pledgewatch run --once`) and a real SMTP
server on 127.0.0.1 (aiosmtpd): what the operator's mailbox holds is what is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import HTML, SITE, Page, tiny_site, write_warc
from helpers_daemon import SmtpSink, free_port, mail_config, subjects
from test_source_health import redesigned_home

HEALTH = "pledgewatch source health"


def health_mail(sink: SmtpSink) -> list:
    return [m for m in sink.messages if str(m["Subject"]).startswith(HEALTH)]


def redesigned_site() -> list[Page]:
    """The tiny JD site with its home listing redesigned (see test_source_health)."""
    kept = [p for p in tiny_site() if p.url != f"{SITE}/"]
    return [*kept, Page(f"{SITE}/", redesigned_home(), headers=HTML)]


def write_daemon_config(path: Path, port: int, warc: Path, extra: str = "") -> Path:
    return mail_config(
        path,
        port,
        schedule='crawl = "0 */2 * * *"\ndigest = "off"\n',
        extra=(
            f'[sources.jd]\nstart_urls = ["{SITE}/"]\n[sources.chinadaily]\nenabled = false\n'
            f'[sources.people]\nenabled = false\n[crawl]\nwindow_days = 0\nreplay = "{warc}"\n{extra}'
        ),
    )


@pytest.mark.slow
def test_one_notice_when_a_source_degrades_none_while_it_stays_one_when_it_recovers(
    tmp_path: Path, sqlite_url: str
) -> None:
    bad = write_warc(tmp_path / "redesign.warc.gz", redesigned_site())
    good = write_warc(tmp_path / "good.warc.gz", tiny_site())
    config = tmp_path / "pledgewatch.toml"
    operator = '[health]\nrecipients = ["operator@example.org"]\n'
    sink = SmtpSink().start()
    try:
        write_daemon_config(config, sink.port, bad, operator)
        first = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert first.returncode == 0, first.stderr
        [notice] = health_mail(sink)
        assert str(notice["Subject"]) == f"{HEALTH}: jd is degraded (was ok)"
        assert str(notice["To"]) == "operator@example.org"
        body = notice.get_body(preferencelist=("plain",)).get_content()
        assert "item selector found nothing, every article link used instead (listing fallback)" in body
        # The analyst still gets the alerts of the articles found through the fallback.
        assert any(s.startswith("New pledge:") for s in subjects(sink.messages))

        # Still degraded on the next run: no second message.
        second = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert second.returncode == 0, second.stderr
        assert len(health_mail(sink)) == 1

        # The listing is readable again: one message that it recovered.
        write_daemon_config(config, sink.port, good, operator)
        third = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert third.returncode == 0, third.stderr
        notices = health_mail(sink)
        assert [str(m["Subject"]) for m in notices] == [
            f"{HEALTH}: jd is degraded (was ok)",
            f"{HEALTH}: jd recovered (degraded -> ok)",
        ]
        fourth = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert fourth.returncode == 0, fourth.stderr
        assert len(health_mail(sink)) == 2
    finally:
        sink.stop()


@pytest.mark.slow
def test_a_notice_that_could_not_be_sent_is_sent_once_by_the_next_run(
    tmp_path: Path, sqlite_url: str
) -> None:
    bad = write_warc(tmp_path / "redesign.warc.gz", redesigned_site())
    config = tmp_path / "pledgewatch.toml"
    sink = SmtpSink()
    # The mail server is down during the crawl that degrades the source.

    write_daemon_config(config, free_port(), bad)
    first = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
    assert first.returncode == 1, first.stderr  # deliveries left pending
    assert "not tried (server unreachable, kept pending)" in first.stderr
    sink.start()
    try:
        write_daemon_config(config, sink.port, bad)
        second = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert second.returncode == 0, second.stderr
        notices = health_mail(sink)
        assert [str(m["Subject"]) for m in notices] == [f"{HEALTH}: jd is degraded (was ok)"]
        # Default recipients: the alert recipients.
        assert str(notices[0]["To"]) == "analyst@example.org"
        third = run_cli("--db", sqlite_url, "--config", str(config), "run", "--once")
        assert third.returncode == 0, third.stderr
        assert len(health_mail(sink)) == 1
    finally:
        sink.stop()


# -- the store and the dispatcher, on SQLite and PostgreSQL -----------------------------------


def _finished_run(sessions, health: dict) -> int:  # type: ignore[no-untyped-def]
    from pledgewatch.store import crawlruns

    with sessions() as session:
        run_id = crawlruns.start_run(session, "cli", sorted(health))
        crawlruns.finish_run(session, run_id, "ok", {}, [], health=health)
    return run_id


def _entry(state: str, *reasons: str) -> dict:
    return {"health": state, "reasons": list(reasons), "counts": {}, "dead_start_urls": {}}


def test_health_is_stored_per_run_and_notices_follow_changes_only(sessions) -> None:  # type: ignore[no-untyped-def]
    from pledgewatch.config import parse_config
    from pledgewatch.notify.dispatch import Dispatcher
    from pledgewatch.store import crawlruns

    sink = SmtpSink().start()
    try:
        config = parse_config(
            {
                "email": {"host": "127.0.0.1", "port": sink.port, "recipients": ["analyst@example.org"]},
                "health": {"recipients": ["operator@example.org"]},
            }
        )
        dispatcher = Dispatcher(config, sessions)
        _finished_run(sessions, {"jd": _entry("ok"), "people": _entry("ok")})
        assert dispatcher.send_health().sent == []  # ok from the start: nothing to tell
        _finished_run(sessions, {"people": _entry("degraded", "1 listing page: ... (listing fallback)")})
        _finished_run(sessions, {"people": _entry("degraded", "1 listing page: ... (listing fallback)")})
        report = dispatcher.send_health()
        assert len(report.sent) == 1
        assert subjects(health_mail(sink)) == [f"{HEALTH}: people is degraded (was ok)"]
        assert str(health_mail(sink)[0]["To"]) == "operator@example.org"
        assert dispatcher.send_health().sent == []  # told once
        _finished_run(sessions, {"people": _entry("broken", "every start URL answered an error (HTTP 404)")})
        _finished_run(sessions, {"people": _entry("ok"), "jd": _entry("ok")})
        dispatcher.send_health()
        assert subjects(health_mail(sink))[1:] == [
            f"{HEALTH}: people is broken (was degraded)",
            f"{HEALTH}: people recovered (broken -> ok)",
        ]
        with sessions() as session:
            latest = {h.source: h.health for h in crawlruns.latest_health(session)}
            assert latest == {"jd": "ok", "people": "ok"}
            previous = crawlruns.previous_health(session, "people", before_run_id=10**6)
            assert previous is not None and previous["health"] == "ok"
    finally:
        sink.stop()

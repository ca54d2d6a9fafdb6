"""Sending a pass's messages over one SMTP connection, and giving up early when the server is gone.

Real servers on 127.0.0.1: aiosmtpd (``SmtpSink``) and a TCP server that accepts and never answers
(``SilentServer``, a firewall that drops packets), with a short ``email.timeout``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_daemon import SilentServer, SmtpSink, mail_config, seed_archive, subjects

from pledgewatch.config import load_config
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.scheduler import Daemon
from pledgewatch.store import db
from pledgewatch.store import deliveries as store


def write_config(path: Path, port: int, timeout: float = 5.0) -> Path:
    schedule = 'crawl = "every 1h"\ndigest = "every 1h"\ntimezone = "Asia/Shanghai"\n'
    return mail_config(path, port, schedule=schedule, timeout=timeout, sources_off=True)


@pytest.fixture
def engine(sqlite_url):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)  # two alerts and a digest are owed
    yield engine
    engine.dispose()


def states(engine):
    with db.session_factory(engine)() as session:
        return store.deliveries_state(session)


@pytest.mark.slow
def test_a_pass_sends_its_messages_over_one_connection(engine, sqlite_url, tmp_path):
    sink = SmtpSink().start()
    try:
        config = load_config(write_config(tmp_path / "pw.toml", sink.port))
        report = Daemon(config, sqlite_url, engine).run_once()
        assert len(report.deliveries.sent) == 3 and not report.deliveries.failed
        assert len(sink.messages) == 3
        # One connection (one client address) for the two alerts and the digest.
        assert len(set(sink.peers)) == 1, sink.peers
    finally:
        sink.stop()


@pytest.mark.slow
def test_a_silent_server_costs_one_timeout_per_run_and_nothing_is_lost(engine, sqlite_url, tmp_path):
    silent = SilentServer().start()
    try:
        config = load_config(write_config(tmp_path / "pw.toml", silent.port, timeout=0.5))
        report = Daemon(config, sqlite_url, engine).run_once()
    finally:
        silent.stop()
    # One connection attempt for the run, not one per message.
    assert silent.accepted == 1
    assert len(report.deliveries.failed) == 1 and len(report.deliveries.deferred) == 2
    assert report.deliveries.sent == []
    owed = states(engine)
    assert [(s.kind, s.status) for s in owed] == [
        ("alert", "pending"),
        ("alert", "pending"),
        ("digest", "pending"),
    ]
    # Attempts count the sends tried: the first alert's, with the reason kept.
    assert [s.attempts for s in owed] == [1, 0, 0]
    assert "SMTP 127.0.0.1" in (owed[0].last_error or "")
    assert owed[1].last_error is None and owed[2].last_error is None

    # The next run, with a server that answers, delivers each of them once.
    sink = SmtpSink().start()
    try:
        config = load_config(write_config(tmp_path / "pw2.toml", sink.port))
        again = Daemon(config, sqlite_url, engine).run_once()
        assert len(again.deliveries.sent) == 3 and again.deliveries.created == []
        assert sorted(m["Message-ID"] for m in sink.messages) == sorted(s.message_id for s in owed)
        assert all(s.status == "sent" for s in states(engine))
        assert [s.attempts for s in states(engine)] == [2, 1, 1]
        # A third run has nothing to send.
        Daemon(config, sqlite_url, engine).run_once()
        assert len(sink.messages) == 3
    finally:
        sink.stop()


def test_a_connection_dropped_mid_batch_is_opened_again(engine, sqlite_url, tmp_path):
    """A server that closes the connection after each message (a per-connection limit, a
    restart): each message still arrives once, on a new connection."""
    sink = SmtpSink(drop_after_each=True).start()
    try:
        config = load_config(write_config(tmp_path / "pw.toml", sink.port))
        dispatcher = Dispatcher(config, db.session_factory(engine))
        with dispatcher.sending():
            report = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert len(report.sent) == 3 and not report.failed and not report.deferred
        assert len(sink.messages) == 3 and len(set(sink.peers)) == 3
        assert len(set(subjects(sink.messages))) == 3
        assert all(s.status == "sent" and s.attempts == 1 for s in states(engine))
    finally:
        sink.stop()

"""Issue 19: the mail server refusing, timing out or dropping the connection in the middle of a
message loses nothing: every owed alert and digest stays pending and arrives once, later.

Real servers on 127.0.0.1: a closed port (connection refused), aiosmtpd answering 451/554 to
DATA (a refusing server), and a raw TCP server that speaks SMTP up to ``DATA`` and hangs up
halfway through the message body. The timing-out server (a silent TCP server) and a server that
drops the connection between messages are in tests/test_mail_batch.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from helpers_daemon import LoopbackServer, SmtpSink, free_port, mail_config, seed_archive

from pledgewatch.config import load_config
from pledgewatch.scheduler import Daemon
from pledgewatch.store import db
from pledgewatch.store import deliveries as store


def _config(path: Path, port: int):  # type: ignore[no-untyped-def]
    schedule = 'crawl = "every 1h"\ndigest = "every 1h"\ntimezone = "Asia/Shanghai"\n'
    return load_config(mail_config(path, port, schedule=schedule, timeout=2.0, sources_off=True))


@pytest.fixture
def engine(sqlite_url):  # type: ignore[no-untyped-def]
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)  # two alerts and a digest are owed
    yield engine
    engine.dispose()


def _states(engine):  # type: ignore[no-untyped-def]
    with db.session_factory(engine)() as session:
        return store.deliveries_state(session)


def _then_delivered_once(engine, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The next run, with a working server: each owed message arrives exactly once."""
    owed = _states(engine)
    assert [s.status for s in owed] == ["pending"] * 3, [(s.kind, s.status) for s in owed]
    sink = SmtpSink().start()
    try:
        again = Daemon(_config(tmp_path / "ok.toml", sink.port), sqlite_url, engine).run_once()
        assert len(again.deliveries.sent) == 3
        assert sorted(m["Message-ID"] for m in sink.messages) == sorted(s.message_id for s in owed)
        assert all(s.status == "sent" for s in _states(engine))
    finally:
        sink.stop()


def test_a_refused_connection_loses_nothing(engine, sqlite_url, tmp_path):  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens there
    report = Daemon(_config(tmp_path / "pw.toml", port), sqlite_url, engine).run_once()
    assert report.deliveries.sent == []
    assert len(report.deliveries.failed) == 1 and len(report.deliveries.deferred) == 2
    assert "refused" in (_states(engine)[0].last_error or "").lower()
    _then_delivered_once(engine, sqlite_url, tmp_path)


class _Refusing(SmtpSink):
    """aiosmtpd answering every DATA with ``code``: a full mailbox, a policy block."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def start(self) -> _Refusing:
        from aiosmtpd.controller import Controller

        code = self.code

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                return code

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self


@pytest.mark.parametrize("code", ["451 4.3.0 try again later", "554 5.7.1 rejected by policy"])
def test_a_server_refusing_the_message_loses_nothing(engine, sqlite_url, tmp_path, code):  # type: ignore[no-untyped-def]
    refusing = _Refusing(code).start()
    try:
        report = Daemon(_config(tmp_path / "pw.toml", refusing.port), sqlite_url, engine).run_once()
    finally:
        refusing.stop()
    assert report.deliveries.sent == []
    assert report.deliveries.failed, "the refusal is reported"
    errors = [s.last_error or "" for s in _states(engine)]
    assert any(code.split()[0] in error for error in errors), errors
    _then_delivered_once(engine, sqlite_url, tmp_path)


class _DropsMidMessage(LoopbackServer):
    """Speaks SMTP up to DATA, reads part of the message, then closes the connection."""

    def __init__(self) -> None:
        super().__init__(backlog=8)
        self.dropped = 0

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            stream = conn.makefile("rb")
            conn.sendall(b"220 127.0.0.1 ESMTP\r\n")
            try:
                for line in stream:
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        conn.sendall(b"250 127.0.0.1\r\n")
                    elif verb == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        stream.read(200)  # some of the message, then the line goes dead
                        self.dropped += 1
                        break
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")
            except OSError:
                pass


def test_a_connection_dropped_in_the_middle_of_a_message_loses_nothing(engine, sqlite_url, tmp_path):  # type: ignore[no-untyped-def]
    server = _DropsMidMessage().start()
    try:
        report = Daemon(_config(tmp_path / "pw.toml", server.port), sqlite_url, engine).run_once()
    finally:
        server.stop()
    assert server.dropped >= 1
    assert report.deliveries.sent == []
    _then_delivered_once(engine, sqlite_url, tmp_path)

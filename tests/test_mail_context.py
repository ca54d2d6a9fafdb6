"""What a recipient sees around the news: who sent it, why they get it, how to stop it.

Messages go through a real SMTP server on 127.0.0.1 (aiosmtpd) and are read back as a mail client
reads them.
"""

from __future__ import annotations

import email
import email.policy
from email.headerregistry import Address
from pathlib import Path

from helpers_daemon import SmtpSink, html_part, mail_config, seed_archive, text_part

from pledgewatch.config import load_config
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.store import db


def write_config(path: Path, port: int, extra: str = "") -> Path:
    schedule = 'digest = "0 8 * * *"\ntimezone = "Asia/Shanghai"\n'
    return mail_config(path, port, schedule=schedule, email=f'sender = "alerts@example.org"\n{extra}')


def _send_all(tmp_path, sqlite_url, extra: str = ""):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        seed_archive(session)
    sink = SmtpSink().start()
    try:
        path = write_config(tmp_path / "pledgewatch.toml", sink.port, extra)
        dispatcher = Dispatcher(load_config(path), sessions)
        report = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert len(report.sent) == 3, report
        return path, sink.messages, [content for _, content in sink.raw]
    finally:
        sink.stop()
        engine.dispose()


def test_the_sender_has_a_display_name(tmp_path, sqlite_url):
    _, messages, _ = _send_all(tmp_path, sqlite_url)
    for message in messages:
        (sender,) = message["From"].addresses
        assert sender == Address("pledgewatch", addr_spec="alerts@example.org")


def test_the_display_name_can_be_configured(tmp_path, sqlite_url):
    _, messages, _ = _send_all(tmp_path, sqlite_url, 'sender_name = "Pledge desk"')
    assert {str(m["From"]) for m in messages} == {"Pledge desk <alerts@example.org>"}


def test_alerts_and_digests_say_why_they_come_and_how_to_stop_them(tmp_path, sqlite_url):
    path, messages, _ = _send_all(tmp_path, sqlite_url)
    alerts = [m for m in messages if str(m["Subject"]).startswith("New pledge")]
    digests = [m for m in messages if str(m["Subject"]).startswith("pledgewatch digest")]
    assert len(alerts) == 2 and len(digests) == 1
    for alert in alerts:
        for body in (text_part(alert), html_part(alert)):
            footer = " ".join(body.split("Why you get this:", 1)[1].split())
            # The watch-list entry behind the alert, and where it is configured.
            assert footer.startswith("JD.com is on the watch list"), footer
            assert str(path) in footer and "email.recipients" in footer
            assert "email.alerts = false" in footer
    for body in (text_part(digests[0]), html_part(digests[0])):
        footer = " ".join(body.split("Why you get this:", 1)[1].split())
        assert str(path) in footer and "email.recipients" in footer
        assert "0 8 * * *" in footer and "JD.com" in footer
        assert 'schedule.digest = "off"' in footer.replace("&#34;", '"').replace("&quot;", '"')


def test_mime_version_is_in_the_message_header_only(tmp_path, sqlite_url):
    _, _, raw = _send_all(tmp_path, sqlite_url)
    for content in raw:
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert message["MIME-Version"] == "1.0"
        parts = list(message.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        assert all(p["MIME-Version"] is None for p in parts)

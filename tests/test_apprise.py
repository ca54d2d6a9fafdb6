"""Alerts and digests through Apprise (chat, push, webhooks), to a real HTTP endpoint on 127.0.0.1.

Apprise's ``json://`` channel POSTs each notification as JSON; a small HTTP server records what a
webhook receiver would get. The delivery guarantees are the same as for email: a channel that is
down keeps the delivery pending, and everything arrives once when it is back.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers_daemon import seed_archive

from pledgewatch.config import Config, EmailConfig
from pledgewatch.errors import ConfigError
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.notify.mailer import Mailer
from pledgewatch.store import deliveries as store

pytest.importorskip("apprise", reason="Apprise is the [apprise] extra; tests install it with [test]")

HUBEI_TITLE = "New pledge: JD.com to invest RMB 6 bn in Hubei over 3 years"


class Webhook:
    """An HTTP server on 127.0.0.1 that answers ``status`` and keeps every JSON body it was sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.status == 200:
                    hook.received.append(json.loads(body))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def apprise_only(port: int) -> Config:
    """No email recipients: Apprise is the only channel."""
    return Config(
        email=EmailConfig(
            recipients=[], apprise_urls=[f"json://127.0.0.1:{port}/pledgewatch"], alert_max_age_days=0
        )
    )


@pytest.mark.slow
def test_alerts_and_digest_reach_a_webhook_once_even_when_it_was_down(sessions):
    with sessions() as session:
        seed_archive(session)
    hook = Webhook()
    try:
        hook.status = 503  # the receiver is down: nothing is lost, everything stays pending
        dispatcher = Dispatcher(apprise_only(hook.port), sessions)
        down = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert down.sent == [] and len(down.failed) == 3
        with sessions() as session:
            pending = store.deliveries_state(session)
        assert {s.status for s in pending} == {"pending"}
        assert all("Apprise channel did not accept" in (s.last_error or "") for s in pending)

        hook.status = 200
        back = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert len(back.sent) == 3 and not back.failed
        titles = sorted(message["title"] for message in hook.received)
        assert HUBEI_TITLE in titles and any(t.startswith("pledgewatch digest") for t in titles)
        hubei = next(m for m in hook.received if m["title"] == HUBEI_TITLE)
        # The alert's body is the HTML part, with the sentence and a link to the article.
        assert "more than RMB 6 billion" in hubei["message"]
        assert "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/" in hubei["message"]
        # Nothing is sent twice.
        again = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert again.sent == [] and len(hook.received) == 3
    finally:
        hook.stop()


def test_an_apprise_url_it_cannot_read_is_a_configuration_error():
    with pytest.raises(ConfigError, match="Apprise does not understand 'nosuchscheme://x'"):
        Mailer(EmailConfig(recipients=[], apprise_urls=["nosuchscheme://x"]))

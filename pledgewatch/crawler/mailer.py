"""Sending a composed message: SMTP (stdlib ``smtplib``) and, optionally, Apprise URLs.

The message is built with the stdlib ``email`` package as multipart/alternative (plain text first,
HTML second, so every client shows the best part it can). Its Message-ID and Date come from the
delivery row, not from the clock, so a resend after a crash is the same message to the server and
to mail clients, which can then drop the duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from pledgewatch.crawler.config import EmailConfig
from pledgewatch.crawler.templating import ComposedMessage
from pledgewatch.errors import ConfigError, PledgewatchError


class SendError(PledgewatchError):
    """The message could not be handed over; the delivery stays pending for the next run."""


def build_message(
    composed: ComposedMessage,
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    kind: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = composed.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["X-Pledgewatch-Kind"] = kind
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    return message


class Mailer:
    """The configured channels. Building one checks the configuration; ``send`` delivers."""

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self._apprise: Any = None
        if config.apprise_urls:
            try:
                import apprise
            except ImportError:
                raise ConfigError(
                    "email.apprise_urls is set but Apprise is not installed: "
                    "pip install 'pledgewatch[apprise]'"
                ) from None
            self._apprise = apprise.Apprise()
            for url in config.apprise_urls:
                if not self._apprise.add(url):
                    raise ConfigError(f"email.apprise_urls: Apprise does not understand {url!r}")
        if not config.recipients and not config.apprise_urls:
            raise ConfigError(
                "email.recipients is empty and no email.apprise_urls are set: nobody to send alerts "
                "and digests to"
            )

    @property
    def channel(self) -> str:
        names = []
        if self.config.recipients:
            names.append("email")
        if self._apprise is not None:
            names.append("apprise")
        return "+".join(names)

    def send(self, message: EmailMessage, composed: ComposedMessage) -> str | None:
        """Deliver to every channel; raises :class:`SendError` when a channel did not accept it.

        Returns a note (recipients the server refused) when the server accepted the message for
        some recipients only: that delivery is done, and the note says who did not get it.
        """
        note = None
        if self.config.recipients:
            note = self._send_smtp(message)
        if self._apprise is not None and not self._apprise.notify(
            title=composed.subject, body=composed.html, body_format="html"
        ):
            raise SendError("an Apprise channel did not accept the message")
        return note

    def _send_smtp(self, message: EmailMessage) -> str | None:
        cfg = self.config
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=context)
                if cfg.username:
                    password = cfg.password()
                    if not password:
                        raise SendError(
                            f"email.username is set but ${cfg.password_env} (email.password_env) is empty"
                        )
                    smtp.login(cfg.username, password)
                refused = smtp.send_message(message)
        except SendError:
            raise
        except smtplib.SMTPException as exc:
            raise SendError(f"SMTP {cfg.host}:{cfg.port}: {exc}") from None
        except OSError as exc:
            raise SendError(f"SMTP {cfg.host}:{cfg.port}: {exc.__class__.__name__}: {exc}") from None
        if refused:
            return "refused by the server: " + ", ".join(sorted(refused))
        return None

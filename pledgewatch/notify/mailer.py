"""Sending a composed message: SMTP (stdlib ``smtplib``) and, optionally, Apprise URLs.

The message is built with the stdlib ``email`` package as multipart/alternative (plain text first,
HTML second, so every client shows the best part it can). Its Message-ID and Date come from the
delivery row, not from the clock, so a resend after a crash is the same message to the server and
to mail clients, which can then drop the duplicate.

A pass sends its messages through one :class:`MailBatch`: one SMTP connection for all of them,
because a server that silently drops packets costs a whole ``email.timeout`` per connection
attempt. When connecting fails, the batch says so (:class:`ConnectError`) and the caller leaves the
rest for the next run instead of paying the timeout once per message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from types import TracebackType
from typing import Any

from pledgewatch.config import EmailConfig
from pledgewatch.errors import ConfigError, PledgewatchError
from pledgewatch.notify.rendering import ComposedMessage


class SendError(PledgewatchError):
    """The message could not be handed over; the delivery stays pending for the next run."""


class ConnectError(SendError):
    """No SMTP session could be set up (connect, greeting, TLS, login): the server is down,
    unreachable or refuses us, so every other message of the batch would fail the same way."""


def build_message(
    composed: ComposedMessage,
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    kind: str,
    sender_name: str = "",
) -> EmailMessage:
    """The message as mail clients see it; ``sender_name`` is the From display name."""
    message = EmailMessage()
    message["Subject"] = composed.subject
    message["From"] = formataddr((sender_name, sender)) if sender_name else sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["X-Pledgewatch-Kind"] = kind
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(composed.text)
    message.add_alternative(composed.html, subtype="html")
    # MIME-Version belongs to the top-level header only; the stdlib also stamps it on the parts.
    for part in message.iter_parts():
        del part["MIME-Version"]
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

    def batch(self) -> MailBatch:
        """A batch of messages over one SMTP connection (opened at the first message)."""
        return MailBatch(self)

    def send(self, message: EmailMessage, composed: ComposedMessage) -> str | None:
        """Deliver one message on a connection of its own (see :meth:`MailBatch.send`)."""
        with self.batch() as batch:
            return batch.send(message, composed)


class MailBatch:
    """Messages sent one after another over one SMTP connection, opened at the first message.

    A connection the server drops mid-batch (idle timeout, a per-connection message limit, a
    restart) is opened again and the message sent again; a further drop needs the new connection
    to have delivered something first, so a dead server costs at most two timeouts per batch. When
    a session cannot be set up, :class:`ConnectError` is raised and :attr:`unreachable` keeps the
    reason: the caller stops sending and leaves the rest pending for the next run.
    """

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.config = mailer.config
        self.unreachable: str | None = None
        self.connections = 0
        # Messages the caller left alone after the server proved unreachable (for its log line).
        self.deferred = 0
        self._smtp: smtplib.SMTP | None = None
        # Messages the current connection delivered: a drop after progress may reconnect again.
        self._sent_on_connection = 0

    def __enter__(self) -> MailBatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and close (quietly: the messages are sent or not already)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(
        self,
        message: EmailMessage,
        composed: ComposedMessage,
        *,
        smtp: bool | None = None,
        apprise: bool = True,
    ) -> str | None:
        """Deliver to every channel; raises :class:`SendError` when a channel did not accept it.

        Returns a note (recipients the server refused) when the server accepted the message for
        some recipients only: that delivery is done, and the note says who did not get it.
        ``smtp`` (default: when ``email.recipients`` is set) and ``apprise`` choose the channels of a
        message with recipients of its own (a health notice to ``[health] recipients``).
        """
        note = None
        if self.config.recipients if smtp is None else smtp:
            note = self._send_smtp(message)
        channel = self.mailer._apprise if apprise else None
        if channel is not None and not channel.notify(
            title=composed.subject, body=composed.html, body_format="html"
        ):
            raise SendError("an Apprise channel did not accept the message")
        return note

    def _where(self) -> str:
        return f"SMTP {self.config.host}:{self.config.port}"

    def _connect(self) -> smtplib.SMTP:
        """A ready session (greeted, TLS, logged in), or :class:`ConnectError`."""
        if self.unreachable is not None:
            raise ConnectError(self.unreachable)
        cfg = self.config
        context = ssl.create_default_context()
        self.connections += 1
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            if cfg.security == "starttls":
                smtp.starttls(context=context)
            if cfg.username:
                password = cfg.password()
                if not password:
                    raise ConnectError(
                        f"email.username is set but ${cfg.password_env} (email.password_env) is empty"
                    )
                smtp.login(cfg.username, password)
        except (ConnectError, smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            if isinstance(exc, ConnectError):
                reason = str(exc)
            elif isinstance(exc, smtplib.SMTPException):
                reason = f"{self._where()}: {exc}"
            else:
                reason = f"{self._where()}: {exc.__class__.__name__}: {exc}"
            self.unreachable = reason
            raise ConnectError(reason) from None
        self._sent_on_connection = 0
        return smtp

    def _send_smtp(self, message: EmailMessage) -> str | None:
        reconnected = False
        while True:
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                refused = self._smtp.send_message(message)
                break
            except smtplib.SMTPServerDisconnected as exc:
                dropped: Exception = exc
            except smtplib.SMTPException as exc:
                # The server answered (a refused sender, all recipients refused, a 4xx/5xx after
                # DATA): this message failed, the session goes on for the next one.
                raise SendError(f"{self._where()}: {exc}") from None
            except OSError as exc:
                dropped = exc
            # The connection went away under us: open it once more and send this message again.
            self.close()
            if reconnected or (self._sent_on_connection == 0 and self.connections > 1):
                # Lost again with nothing delivered since the last reconnect: the server takes
                # connections but not messages, and would cost the rest of the batch the same.
                self.unreachable = (
                    f"{self._where()}: connection lost: {dropped.__class__.__name__}: {dropped}"
                )
                raise ConnectError(self.unreachable) from None
            reconnected = True
        self._sent_on_connection += 1
        if refused:
            return "refused by the server: " + ", ".join(sorted(refused))
        return None

"""Test helpers for the daemon, alerts and digests: a real SMTP server and a small archive.

``SmtpSink`` is an aiosmtpd server on 127.0.0.1 that keeps every message it accepts; tests parse
them with the stdlib ``email`` package, as a mail client would. ``seed_archive`` writes the pledges
of the seed articles (the Hubei pledge and its re-report, the Northeast pledge and a syndicated
copy) straight into the store, the way the crawl pipeline would.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from pledgewatch.store.archive import content_hash
from pledgewatch.store.models import Article, Pledge, PledgeMention, Source, Story

BEIJING = timezone(timedelta(hours=8))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.sink.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.sink.lock:
            self.sink.raw.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            login = session.auth_data.login.decode() if session.auth_data is not None else None
            encrypted = server.transport.get_extra_info("ssl_object") is not None
            self.sink.sessions.append((encrypted, login))
            # The client's (host, port): one per connection, so tests can count connections.
            self.sink.peers.append(tuple(session.peer))
            if self.sink.drop_after_each:
                # As a server with a one-message-per-connection limit (or a restart) does: the
                # reply goes out, then the connection closes under the client.
                asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that collects what it receives; can be stopped and restarted."""

    def __init__(
        self,
        port: int | None = None,
        refuse: tuple[str, ...] = (),
        *,
        drop_after_each: bool = False,
        **controller: Any,
    ) -> None:
        self.port = port or free_port()
        # Close every connection after the message it carried.
        self.drop_after_each = drop_after_each
        # Recipients the server refuses (550), as a server does for a mistyped address.
        self.refuse = set(refuse)
        # aiosmtpd options: ssl_context (implicit TLS), tls_context + require_starttls, authenticator...
        self.controller_options = controller
        self.raw: list[tuple[list[str], bytes]] = []
        self.sessions: list[tuple[bool, str | None]] = []  # (TLS used, login) per message
        self.peers: list[tuple[Any, ...]] = []  # the client's address per message
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(
            _Collect(self), hostname="127.0.0.1", port=self.port, **self.controller_options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(content, policy=email.policy.default) for _, content in raw]  # type: ignore[misc]

    def wait_for(self, predicate: Callable[[list[EmailMessage]], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.messages):
                return True
            time.sleep(0.1)
        return predicate(self.messages)


class LoopbackServer:
    """A TCP server on 127.0.0.1 (a free port) that hands each connection to :meth:`handle` in one
    thread: the base of the misbehaving servers the mail tests need."""

    def __init__(self, backlog: int = 16) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(backlog)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def handle(self, conn: socket.socket) -> None:
        conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.handle(conn)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


class SilentServer(LoopbackServer):
    """A TCP server on 127.0.0.1 that accepts connections and never says a word.

    What a mail server behind a firewall that drops packets looks like to a client with a
    timeout: every connection attempt costs the whole timeout. ``accepted`` counts the attempts.
    """

    def __init__(self) -> None:
        super().__init__()
        self.accepted = 0
        self._held: list[socket.socket] = []

    def handle(self, conn: socket.socket) -> None:
        self.accepted += 1
        self._held.append(conn)  # kept open, never answered

    def stop(self) -> None:
        """Stop, counting the connections still waiting in the backlog too."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.setblocking(False)
        while True:
            try:
                conn, _ = self._sock.accept()
            except BlockingIOError:
                break
            self.handle(conn)
        for conn in self._held:
            conn.close()
        self._sock.close()


def mail_config(
    path: Path,
    port: int,
    *,
    schedule: str = "",
    email: str = "",
    timeout: float = 5.0,
    sources_off: bool = False,
    extra: str = "",
) -> Path:
    """A configuration file that mails one analyst through the test SMTP server on ``port``.

    ``schedule``: lines of [schedule]; ``email``: more lines of [email]; ``sources_off``: no
    source enabled (nothing to crawl); ``extra``: more tables at the end.
    """
    sections = [f"[schedule]\n{schedule}" if schedule else ""]
    sections.append(
        f'[email]\nhost = "127.0.0.1"\nport = {port}\nrecipients = ["analyst@example.org"]\n'
        f"timeout = {timeout}\nalert_max_age_days = 0\n{email}"
    )
    if sources_off:
        sections.append(
            "".join(f"[sources.{name}]\nenabled = false\n" for name in ("jd", "chinadaily", "people"))
        )
    sections.append(extra)
    path.write_text("\n".join(section for section in sections if section) + "\n", encoding="utf-8")
    return path


def subjects(messages: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in messages]


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no HTML part"
    return part.get_content()


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text part"
    return part.get_content()


def _source(session: Session, name: str, title: str, domain: str) -> Source:
    found = session.query(Source).filter_by(name=name).one_or_none()
    if found is None:
        found = Source(name=name, title=title, domain=domain)
        session.add(found)
        session.flush()
    return found


SOURCES = {
    "jd": ("JD Corporate Blog", "jdcorporateblog.com"),
    "chinadaily": ("China Daily", "www.chinadaily.com.cn"),
    "people": ("People's Daily Online", "en.people.cn"),
}


def add_article(
    session: Session,
    source: str,
    url: str,
    title: str,
    published: datetime | None,
    text: str = "",
    *,
    relevant: bool = True,
    story: Story | None = None,
    outlet: str | None = None,
    authors: list[str] | None = None,
) -> Article:
    title_, domain = SOURCES[source]
    body = text or f"{title}. JD.com said on Wednesday that it would keep investing."
    article = Article(
        source=_source(session, source, title_, domain),
        canonical_url=url,
        title=title,
        text=body,
        content_hash=content_hash(body),
        published_at=published,
        relevant=relevant,
        entities=["JD.com"] if relevant else [],
        story=story,
        outlet=outlet,
        authors=authors or [],
    )
    session.add(article)
    session.flush()
    return article


def add_pledge(session: Session, **fields) -> Pledge:  # type: ignore[no-untyped-def]
    key = f"{fields['actor']}|{fields['kind']}|{fields.get('region')}|{fields.get('amount_value')}"
    fields.setdefault("key", key)
    pledge = Pledge(**fields)
    session.add(pledge)
    session.flush()
    return pledge


def add_mention(
    session: Session,
    pledge: Pledge,
    article: Article,
    sentence: str,
    *,
    is_new: bool,
    is_revision: bool = False,
    amount_value: float | None = None,
    currency: str | None = None,
) -> PledgeMention:
    start = max(article.text.find(sentence), 0)
    mention = PledgeMention(
        pledge=pledge,
        article=article,
        source_name=article.source.name,
        sentence=sentence,
        sentence_index=0,
        start_offset=start,
        end_offset=start + len(sentence),
        amount_value=amount_value if amount_value is not None else pledge.amount_value,
        currency=currency if currency is not None else pledge.currency,
        is_new=is_new,
        is_revision=is_revision,
        published_at=article.published_at,
    )
    session.add(mention)
    session.flush()
    return mention


HUBEI_SENTENCE = (
    "JD.com will invest more than RMB 6 billion in Hubei over the next three years to help the "
    "province recover from the epidemic."
)
HUBEI_REREPORT = (
    "JD.com announced it will invest more than 6 billion yuan ($849 million) in Hubei over the "
    "next three years."
)
NORTHEAST_SENTENCE = (
    "JD plans to invest more than 20 billion yuan ($3.12 billion) in Northeast China in three years."
)


@dataclass
class SeededArchive:
    hubei_article: Article
    people_article: Article
    northeast_article: Article
    syndicated_copy: Article
    unrelated: Article
    hubei_mention: PledgeMention
    hubei_rereport: PledgeMention
    northeast_mention: PledgeMention
    alibaba_mention: PledgeMention


def seed_archive(session: Session) -> SeededArchive:
    """The seed articles' pledges as the crawl pipeline stores them."""
    hubei_article = add_article(
        session,
        "jd",
        "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
        "JD.com to Invest over RMB 6 Billion in Hubei",
        datetime(2020, 4, 8, 10, 0, tzinfo=BEIJING),
        "Apr 8, 2020. " + HUBEI_SENTENCE + " The investment covers logistics and retail.",
        authors=["Tracy Yang", "Rachel Liu"],
    )
    hubei = add_pledge(
        session,
        actor="JD.com",
        kind="invest",
        amount_value=6e9,
        currency="CNY",
        qualifier="more than",
        region="Hubei",
        horizon="over the next three years",
        start_year=2020,
        end_year=2022,
        first_published_at=hubei_article.published_at,
    )
    hubei_mention = add_mention(session, hubei, hubei_article, HUBEI_SENTENCE, is_new=True)

    people_article = add_article(
        session,
        "people",
        "https://en.people.cn/n3/2020/0430/c90000-9685505.html",
        "Internet Plus strategy accelerates recovery of Hubei's economy",
        datetime(2020, 4, 30, 9, 7, tzinfo=BEIJING),
        "Hubei's economy is recovering. " + HUBEI_REREPORT + " Alibaba will also help.",
        outlet="People's Daily Overseas Edition",
        authors=["Li Jiabao"],
    )
    hubei_rereport = add_mention(
        session, hubei, people_article, HUBEI_REREPORT, is_new=False, amount_value=6e9, currency="CNY"
    )
    alibaba = add_pledge(
        session,
        actor="Alibaba",
        kind="invest",
        amount_value=2e8,
        currency="CNY",
        region="Hubei",
        first_published_at=people_article.published_at,
    )
    alibaba_mention = add_mention(
        session, alibaba, people_article, "Alibaba will invest 200 million yuan in Hubei.", is_new=True
    )

    story = Story()
    session.add(story)
    session.flush()
    northeast_article = add_article(
        session,
        "chinadaily",
        "https://www.chinadaily.com.cn/a/201806/21/WS5b2b0a2aa3103349141dda4b.html",
        "JD plans to add jobs in northeastern region",
        datetime(2018, 6, 21, 7, 0, tzinfo=BEIJING),
        NORTHEAST_SENTENCE + " It will create 9,000 jobs in Liaoning.",
        story=story,
        authors=["FAN FEIFEI"],
    )
    northeast = add_pledge(
        session,
        actor="JD.com",
        kind="invest",
        amount_value=2e10,
        currency="CNY",
        qualifier="more than",
        region="Heilongjiang, Jilin, Liaoning",
        horizon="in three years",
        start_year=2018,
        end_year=2020,
        first_published_at=northeast_article.published_at,
    )
    northeast_mention = add_mention(session, northeast, northeast_article, NORTHEAST_SENTENCE, is_new=True)
    syndicated_copy = add_article(
        session,
        "people",
        "https://en.people.cn/n3/2018/0621/c90000-9473455.html",
        "JD to invest 20b yuan in northeast",
        datetime(2018, 6, 21, 15, 30, tzinfo=BEIJING),
        NORTHEAST_SENTENCE + " It will create 9,000 jobs in Liaoning.",
        story=story,
        outlet="China Daily",
    )
    add_mention(session, northeast, syndicated_copy, NORTHEAST_SENTENCE, is_new=False)
    unrelated = add_article(
        session,
        "chinadaily",
        "https://www.chinadaily.com.cn/a/202004/09/WS5e8e6a1ca3105d50a3d15000.html",
        "Spring planting begins in Heilongjiang",
        datetime(2020, 4, 9, 9, 25, tzinfo=BEIJING),
        "Farmers in Heilongjiang started spring planting.",
        relevant=False,
    )
    session.commit()
    return SeededArchive(
        hubei_article=hubei_article,
        people_article=people_article,
        northeast_article=northeast_article,
        syndicated_copy=syndicated_copy,
        unrelated=unrelated,
        hubei_mention=hubei_mention,
        hubei_rereport=hubei_rereport,
        northeast_mention=northeast_mention,
        alibaba_mention=alibaba_mention,
    )

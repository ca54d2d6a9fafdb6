"""Alerts and digests through a real SMTP server: what the analyst receives, and receives once."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_browser import chromium, run_chromium
from helpers_daemon import (
    HUBEI_SENTENCE,
    NORTHEAST_SENTENCE,
    SmtpSink,
    add_article,
    add_mention,
    free_port,
    html_part,
    mail_config,
    seed_archive,
    subjects,
    text_part,
)
from sqlalchemy import update

from pledgewatch.config import Config, EmailConfig
from pledgewatch.errors import ConfigError
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.notify.mailer import Mailer
from pledgewatch.store import db
from pledgewatch.store import deliveries as store
from pledgewatch.store.models import Delivery, utcnow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HUBEI_SUBJECT = "New pledge: JD.com to invest RMB 6 bn in Hubei over 3 years"
NORTHEAST_SUBJECT = "New pledge: JD.com to invest RMB 20 bn in Heilongjiang, Jilin, Liaoning over 3 years"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def make_config(port: int, **email) -> Config:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "recipients": ["analyst@example.org", "desk@example.org"],
        "timeout": 5.0,
        # The seed archive is 2016-2020 news: no age limit unless a test sets one.
        "alert_max_age_days": 0,
        **email,
    }
    return Config(email=EmailConfig(**settings))


def states(sessions, kind=None):
    with sessions() as session:
        return store.deliveries_state(session, kind)


def test_one_alert_per_new_watchlist_pledge_none_for_rereports(sessions, smtp):
    with sessions() as session:
        seeded = seed_archive(session)
    dispatcher = Dispatcher(make_config(smtp.port), sessions)

    report = dispatcher.send_alerts()

    # Hubei and Northeast are new JD pledges; the People's Daily re-report, the syndicated copy
    # and Alibaba's pledge (not on the watch list) raise no alert.
    assert sorted(subjects(smtp.messages)) == sorted([HUBEI_SUBJECT, NORTHEAST_SUBJECT])
    assert len(report.sent) == 2 and not report.failed
    hubei = next(m for m in smtp.messages if m["Subject"] == HUBEI_SUBJECT)
    assert hubei.get_content_type() == "multipart/alternative"
    assert hubei["To"] == "analyst@example.org, desk@example.org"
    assert sorted(rcpts for rcpts, _ in smtp.raw)[0] == ["analyst@example.org", "desk@example.org"]
    body = text_part(hubei)
    for expected in (
        HUBEI_SENTENCE,
        "JD.com to Invest over RMB 6 Billion in Hubei",
        "JD Corporate Blog",
        "2020-04-08 10:00 UTC+0800",
        "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/",
        "more than RMB 6 bn",
        "Hubei",
    ):
        assert expected in body
    assert "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/" in html_part(hubei)
    # The Message-ID is the one recorded with the delivery, before sending.
    recorded = {s.message_id: s for s in states(sessions, store.ALERT)}
    assert {m["Message-ID"] for m in smtp.messages} == set(recorded)
    assert all(s.status == "sent" and s.attempts == 1 for s in recorded.values())
    assert {s.items for s in recorded.values()} == {
        (("pledge_mention", seeded.hubei_mention.id),),
        (("pledge_mention", seeded.northeast_mention.id),),
    }

    # A second cycle sends nothing new.
    assert dispatcher.send_alerts().sent == []
    assert len(smtp.messages) == 2

    # Another re-report of the Hubei pledge arrives later: still nothing.
    with sessions() as session:
        seeded = seed_archive_reload(session, seeded)
        article = add_article(
            session,
            "chinadaily",
            "https://www.chinadaily.com.cn/a/202005/02/WS5eacd3e2a310a8b241153000.html",
            "JD's Hubei investment under way",
            seeded.people_article.published_at + timedelta(days=2),
        )
        add_mention(session, seeded.hubei_mention.pledge, article, HUBEI_SENTENCE, is_new=False)
        # ... and a revision of the Northeast pledge: that is worth an alert of its own.
        northeast = seeded.northeast_mention.pledge
        northeast.amount_value = 3e10
        northeast.revision = 1
        add_mention(
            session,
            northeast,
            article,
            "JD raised its pledge for Northeast China to 30 billion yuan.",
            is_new=False,
            is_revision=True,
        )
        session.commit()
    dispatcher.send_alerts()
    assert subjects(smtp.messages)[2:] == [
        "Revised pledge: JD.com to invest RMB 30 bn in Heilongjiang, Jilin, Liaoning over 3 years"
    ]


def seed_archive_reload(session, seeded):
    """The seeded objects attached to ``session`` (tests keep them across sessions)."""
    for name in ("hubei_article", "people_article", "northeast_mention", "hubei_mention"):
        setattr(seeded, name, session.merge(getattr(seeded, name), load=True))
    return seeded


def test_alerts_can_be_switched_off(sessions, smtp):
    with sessions() as session:
        seed_archive(session)
    Dispatcher(make_config(smtp.port, alerts=False), sessions).send_alerts()
    assert smtp.messages == []


@pytest.mark.slow
def test_smtp_down_for_two_cycles_then_every_item_arrives_once(sessions):
    port = free_port()  # nothing listens here yet: the "server" is down
    with sessions() as session:
        seed_archive(session)
    dispatcher = Dispatcher(make_config(port), sessions)

    for cycle in (1, 2):
        alerts = dispatcher.send_alerts()
        digest = dispatcher.send_digest()
        # The first alert finds the server down; the second is not tried in the same pass.
        assert alerts.sent == [] and len(alerts.failed) == 1 and len(alerts.deferred) == 1, cycle
        assert digest.sent == [] and len(digest.failed) == 1, cycle
        pending = states(sessions)
        assert len(pending) == 3 and all(s.status == "pending" for s in pending)
        # Attempts count the sends actually tried.
        assert [s.attempts for s in pending] == [cycle, 0, cycle]
        tried = [pending[0], pending[2]]
        assert all("Connection refused" in (s.last_error or "") for s in tried)
    message_ids = {s.message_id for s in states(sessions)}

    sink = SmtpSink(port).start()
    try:
        third = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert len(third.sent) == 3 and not third.failed
        assert len(sink.messages) == 3
        assert sorted(subjects(sink.messages)[:2]) == sorted([HUBEI_SUBJECT, NORTHEAST_SUBJECT])
        assert subjects(sink.messages)[2].startswith("pledgewatch digest")
        # Same Message-IDs as recorded before the first attempt.
        assert {m["Message-ID"] for m in sink.messages} == message_ids
        assert all(s.status == "sent" for s in states(sessions))
        assert [s.attempts for s in states(sessions)] == [3, 1, 3]
        # Nothing more on a fourth cycle.
        fourth = dispatcher.send_alerts().merge(dispatcher.send_digest())
        assert fourth.sent == [] and len(sink.messages) == 3
    finally:
        sink.stop()


def test_a_claim_whose_process_died_is_resent_with_the_same_message_id(sessions, smtp):
    """The crash window: claimed (maybe even accepted by the server) but never marked sent."""
    with sessions() as session:
        seeded = seed_archive(session)
        delivery = store.create_delivery(
            session,
            store.ALERT,
            [(store.ITEM_MENTION, seeded.hubei_mention.id)],
            recipients=["analyst@example.org"],
            subject=HUBEI_SUBJECT,
        )
        assert delivery is not None
        dispatcher = Dispatcher(make_config(smtp.port), sessions)
        assert store.claim(session, delivery.id, dispatcher.lease)
        # A second process cannot take it while the claim is fresh ...
        assert not store.claim(session, delivery.id, dispatcher.lease)
    assert dispatcher.retry_pending().sent == []
    # ... but can once the claim is older than the lease (its process died).
    with sessions() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(last_attempt_at=utcnow() - dispatcher.lease - timedelta(seconds=1))
        )
        session.commit()
    report = dispatcher.retry_pending()
    assert report.sent == [delivery.id]
    assert [m["Message-ID"] for m in smtp.messages] == [delivery.message_id]
    assert states(sessions, store.ALERT)[0].attempts == 2
    # The new-alert pass does not make a second delivery for the same mention.
    dispatcher.send_alerts()
    assert subjects(smtp.messages).count(HUBEI_SUBJECT) == 1


def test_an_item_belongs_to_one_delivery_even_when_two_processes_race(sessions):
    with sessions() as session:
        seeded = seed_archive(session)
    item = [(store.ITEM_MENTION, seeded.hubei_mention.id)]
    with sessions() as first, sessions() as second:
        winner = store.create_delivery(first, store.ALERT, item, recipients=["a@example.org"], subject="x")
        loser = store.create_delivery(second, store.ALERT, item, recipients=["a@example.org"], subject="x")
    assert winner is not None and loser is None
    assert [s.items for s in states(sessions)] == [tuple(item)]


def test_digest_groups_by_outlet_newest_first_with_syndication_and_rereports(sessions, smtp):
    with sessions() as session:
        seed_archive(session)
    dispatcher = Dispatcher(make_config(smtp.port), sessions)

    report = dispatcher.send_digest()

    assert len(report.sent) == 1 and len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"].startswith("pledgewatch digest")
    assert "3 stories, 3 new pledges" in message["Subject"]
    text = text_part(message)
    # New pledges on top, before the first outlet.
    top = text.index("NEW PLEDGES")
    first_outlet = text.index("PEOPLE'S DAILY ONLINE")
    assert top < text.index("JD.com to invest RMB 6 bn in Hubei over 3 years") < first_outlet
    # Watch-list pledges first: Alibaba's new pledge comes after both JD pledges.
    assert (
        text.index("Heilongjiang, Jilin, Liaoning", top) < text.index("Alibaba to invest", top) < first_outlet
    )
    # Outlets ordered by their newest story: People's Daily (2020-04-30), JD (2020-04-08), China Daily (2018).
    lines = text.splitlines()
    headings = [line for line, below in itertools.pairwise(lines) if below.startswith("===")]
    assert headings == ["NEW PLEDGES", "PEOPLE'S DAILY ONLINE", "JD CORPORATE BLOG", "CHINA DAILY"]
    # The re-report is marked, with the first report.
    assert "pledge [re-report: first reported 2020-04-08 by JD Corporate Blog]" in text
    # The syndicated story appears once, under its first publisher, with "also reported by".
    assert text.count("JD plans to add jobs in northeastern region") == 2  # new-pledge list + entry
    assert "JD to invest 20b yuan in northeast" not in text
    assert "Also reported by: People's Daily Online (China Daily) (2018-06-21" in text
    # Irrelevant articles are not in a digest.
    assert "Spring planting" not in text
    html = html_part(message)
    assert "pledge, re-reported" in html and "Also reported by" in html

    # A second digest has nothing new: not sent, recorded as skipped.
    second = dispatcher.send_digest()
    assert second.skipped_empty and second.sent == [] and len(smtp.messages) == 1
    assert [s.status for s in states(sessions, store.DIGEST)] == ["sent", "skipped"]
    # Every relevant article went into exactly one digest (the syndicated copy included).
    with sessions() as session:
        assert store.digest_candidates(session) == []


def test_empty_digest_is_sent_only_when_configured(sessions, smtp):
    Dispatcher(make_config(smtp.port), sessions).send_digest()
    assert smtp.messages == []
    Dispatcher(make_config(smtp.port, send_empty_digest=True), sessions).send_digest()
    assert len(smtp.messages) == 1
    assert "Nothing new since the last digest: no new or edited article" in text_part(smtp.messages[0])


def test_web_content_is_escaped_in_the_html_part(sqlite_url, smtp):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        seeded = seed_archive(session)
        article = session.merge(seeded.hubei_article)
        article.title = 'Hubei plan <script>alert("x")</script> & <b>more</b>'
        session.commit()
    dispatcher = Dispatcher(make_config(smtp.port), sessions)
    dispatcher.send_alerts()
    dispatcher.send_digest()
    assert len(smtp.messages) == 3
    for message in smtp.messages:
        html = html_part(message)
        if "Hubei plan" not in html:
            continue
        assert "<script>" not in html and "<b>more</b>" not in html
        escaped = "Hubei plan &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;"
        assert escaped in html
    engine.dispose()


@pytest.mark.slow
def test_apprise_configured_but_missing_is_a_clear_error(sqlite_url, tmp_path):
    # A Python where Apprise is not installed: a module on PYTHONPATH that fails to import, as a
    # missing package does (tests install the [apprise] extra, users may not).
    missing = tmp_path / "no-apprise"
    missing.mkdir()
    (missing / "apprise.py").write_text("raise ImportError(\"No module named 'apprise'\")\n")
    config = _write_config(
        tmp_path / "pledgewatch.toml", free_port(), 'apprise_urls = ["json://127.0.0.1:9/hook"]'
    )
    result = run_cli(
        "--db", sqlite_url, "--config", str(config), "alerts", "--send", env={"PYTHONPATH": str(missing)}
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'pledgewatch[apprise]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_recipients_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"email\.recipients is empty"):
        Mailer(EmailConfig(recipients=[]))


def _write_config(path: Path, port: int, extra: str = "") -> Path:
    return mail_config(path, port, email=extra)


@pytest.mark.slow
def test_cli_digest_dry_run_writes_files_and_marks_nothing(sqlite_url, tmp_path, smtp):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
    config = _write_config(tmp_path / "pledgewatch.toml", smtp.port)
    out = tmp_path / "out"

    result = run_cli("--db", sqlite_url, "--config", str(config), "digest", "--dry-run", "--out", str(out))

    assert result.returncode == 0, result.stderr
    html = (out / "digest.html").read_text(encoding="utf-8")
    text = (out / "digest.txt").read_text(encoding="utf-8")
    assert "JD.com to invest RMB 6 bn in Hubei over 3 years" in html
    assert "NEW PLEDGES" in text
    assert smtp.messages == []
    with db.session_factory(engine)() as session:
        assert store.deliveries_state(session) == []
        assert len(store.digest_candidates(session)) == 4

    sent = run_cli("--db", sqlite_url, "--config", str(config), "digest", "--send")
    assert sent.returncode == 0, sent.stderr
    assert len(smtp.messages) == 1 and "1 sent" in sent.stderr
    nothing = run_cli("--db", sqlite_url, "--config", str(config), "digest")
    assert nothing.returncode == 2 and "--dry-run" in nothing.stderr
    engine.dispose()


@pytest.mark.slow
def test_cli_alerts_send_then_nothing_new(sqlite_url, tmp_path, smtp):
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
    config = _write_config(tmp_path / "pledgewatch.toml", smtp.port)
    preview = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert HUBEI_SUBJECT in preview.stdout and smtp.messages == []
    first = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
    second = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert sorted(subjects(smtp.messages)) == sorted([HUBEI_SUBJECT, NORTHEAST_SUBJECT])
    engine.dispose()


@pytest.mark.slow
def test_cli_alerts_dry_run_lists_alerts_kept_pending_and_says_when_none_is_due(sqlite_url, tmp_path):
    """With the SMTP server down, `alerts --dry-run` shows what is owed (the next send starts with
    it), with the error; once everything went out it says so instead of printing nothing."""
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
    sink = SmtpSink()  # not started yet: the server is down
    config = _write_config(tmp_path / "pledgewatch.toml", sink.port)
    failed = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
    assert failed.returncode == 1 and "1 failed (kept pending)" in failed.stderr
    assert "1 not tried" in failed.stderr  # the server was found down at the first

    preview = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert len(lines) == 2, preview.stdout
    hubei = next(line for line in lines if line.startswith(HUBEI_SUBJECT))
    assert "not delivered yet: 1 attempt(s)" in hubei and "Connection refused" in hubei

    sink.start()
    try:
        sent = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
        assert sent.returncode == 0 and len(sink.messages) == 2, sent.stderr
        nothing = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--dry-run")
        assert nothing.returncode == 0 and nothing.stdout == ""
        assert "no alerts due" in nothing.stderr
    finally:
        sink.stop()
    engine.dispose()


@pytest.mark.slow
def test_a_recipient_the_server_refuses_is_reported_not_retried(sqlite_url, tmp_path):
    """The message reaches the other recipients once; the refused address is said out loud."""
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seed_archive(session)
    sink = SmtpSink(refuse=("typo@example.org",)).start()
    try:
        config = tmp_path / "pledgewatch.toml"
        config.write_text(
            f"""
[email]
host = "127.0.0.1"
port = {sink.port}
recipients = ["analyst@example.org", "typo@example.org"]
timeout = 5.0
alert_max_age_days = 0
""",
            encoding="utf-8",
        )
        result = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stderr.split())
        assert "alert 1: refused by the server: typo@example.org (check email.recipients)" in said, said
        assert "2 with recipients refused" in said, said
        assert [rcpts for rcpts, _ in sink.raw] == [["analyst@example.org"]] * 2
        again = run_cli("--db", sqlite_url, "--config", str(config), "alerts", "--send")
        assert again.returncode == 0 and len(sink.raw) == 2
    finally:
        sink.stop()
    engine.dispose()


@pytest.mark.slow
def test_pledges_feed_is_valid_atom(sqlite_url, tmp_path):
    feedparser = pytest.importorskip("feedparser")
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    with db.session_factory(engine)() as session:
        seeded = seed_archive(session)
        article = session.merge(seeded.hubei_article)
        article.title = "Hubei <plan> & more"
        session.commit()
    feed_path = tmp_path / "pledges.xml"

    result = run_cli("--db", sqlite_url, "pledges", "feed", "--out", str(feed_path))

    assert result.returncode == 0, result.stderr
    parsed = feedparser.parse(feed_path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    titles = [entry.title for entry in parsed.entries]
    assert "JD.com to invest RMB 6 bn in Hubei over 3 years" in titles
    assert "Alibaba to invest RMB 200 million in Hubei" in titles
    assert len(titles) == 3
    hubei = next(e for e in parsed.entries if e.title.startswith("JD.com to invest RMB 6 bn"))
    assert hubei.link == "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"
    # Escaped twice in the XML (text in HTML in XML): once parsed, HTML that shows the text as is.
    assert "Hubei &lt;plan&gt; &amp; more" in hubei.content[0].value
    assert "People's Daily" in hubei.content[0].value  # every mention is listed
    stdout = run_cli("--db", sqlite_url, "pledges", "feed")
    assert stdout.returncode == 0 and not feedparser.parse(stdout.stdout).bozo
    engine.dispose()


@pytest.mark.slow
def test_digest_html_renders_in_headless_chromium(sqlite_url, tmp_path):
    chromium()  # skip before building anything when there is no browser
    engine = db.make_engine(sqlite_url)
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        seed_archive(session)
    html = Dispatcher(make_config(25), sessions).preview_digest().html
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "digest.png"
    screenshot.unlink(missing_ok=True)
    profile = tmp_path / "profile"
    shot = run_chromium(
        f"--screenshot={screenshot}", "--window-size=1200,1600", page.as_uri(), profile=profile, timeout=60
    )
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    dom = run_chromium("--dump-dom", page.as_uri(), profile=profile, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The browser's DOM shows the pledge, its sentence and the section on top.
    assert '<section id="new-pledges"' in dom.stdout
    assert "JD.com to invest RMB 6 bn in Hubei over 3 years" in dom.stdout
    assert NORTHEAST_SENTENCE.replace("$", "$") in dom.stdout
    engine.dispose()


# -- SMTP security and login -----------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted by the client through $SSL_CERT_FILE."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
    ]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _authenticator(password: str):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = auth_data.login == b"pledgewatch" and auth_data.password == password.encode()
        return AuthResult(
            success=ok, handled=False, auth_data=auth_data
        )  # not handled: the server answers 535

    return check


@pytest.mark.slow
def test_starttls_and_login_with_the_password_from_the_environment(sessions, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", "wrong")
    sink = SmtpSink(
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticator("s3cret"),
        auth_required=True,
        auth_require_tls=True,
    ).start()
    try:
        with sessions() as session:
            seed_archive(session)
        config = make_config(
            sink.port,
            security="starttls",
            username="pledgewatch",
            password_env="PW_TEST_SMTP_PASSWORD",
        )
        dispatcher = Dispatcher(config, sessions)
        # A refused login keeps the alerts pending, with the server's answer; the second alert
        # is not tried with the same password.
        refused = dispatcher.send_alerts()
        assert len(refused.failed) == 1 and len(refused.deferred) == 1 and sink.messages == []
        assert "535" in (states(sessions)[0].last_error or ""), states(sessions)
        monkeypatch.setenv("PW_TEST_SMTP_PASSWORD", "s3cret")
        assert len(dispatcher.send_alerts().sent) == 2
        assert sink.sessions == [(True, "pledgewatch"), (True, "pledgewatch")]
        # Without STARTTLS this server takes no mail: the digest stays pending, it does not leak.
        plain = Dispatcher(make_config(sink.port), sessions).send_digest()
        assert len(plain.failed) == 1 and "530" in plain.errors[0]
        assert len(sink.messages) == 2
    finally:
        sink.stop()


@pytest.mark.slow
def test_implicit_tls(sessions, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    sink = SmtpSink(ssl_context=_server_context(certificate)).start()
    try:
        with sessions() as session:
            seed_archive(session)
        Dispatcher(make_config(sink.port, security="ssl"), sessions).send_digest()
        assert len(sink.messages) == 1 and sink.sessions == [(True, None)]
    finally:
        sink.stop()

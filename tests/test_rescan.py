"""`pledgewatch rescan`: a watch-list change reaches the archive, and no alert is repeated (and `--version`).

The sample web is archived with the default watch list (JD.com); Tencent and Meituan, whose pledges
the sample web carries, are added afterwards. Without a rescan their pledges stay unknown; with it
they appear, the JD pledges already alerted are not alerted again, and pledges older than
``alert_max_age_days`` are skipped, not mailed.
"""

from __future__ import annotations

import helpers_pledges
import pytest
from conftest import run_cli
from helpers_daemon import SmtpSink, subjects
from sqlalchemy import func, select

from pledgewatch.config import Config, EmailConfig, WatchEntity, load_config
from pledgewatch.ingest import rescan
from pledgewatch.notify.dispatch import Dispatcher
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store.listing import PledgeFilter, list_pledges
from pledgewatch.store.models import PledgeMention


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def watched(*extra: WatchEntity) -> list[WatchEntity]:
    return [*Config().watchlist, *extra]


TENCENT = WatchEntity(name="Tencent", aliases=["Tencent", "WeChat"])
MEITUAN = WatchEntity(name="Meituan", aliases=["Meituan"])


def mail_config(port: int, watchlist: list[WatchEntity], **email) -> Config:
    settings = {"host": "127.0.0.1", "port": port, "recipients": ["analyst@example.org"], "timeout": 5.0}
    return Config(watchlist=watchlist, email=EmailConfig(**{**settings, **email}))


def test_rescan_finds_the_added_companies_pledges_and_is_idempotent(sessions):
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
        assert list_pledges(session, PledgeFilter(actor="Tencent")) == []
        jd_before = len(list_pledges(session, PledgeFilter(actor="JD.com")))

        watchlist = Watchlist(watched(TENCENT, MEITUAN))
        dry = rescan(session, watchlist, dry_run=True)
        assert dry.pledges_new > 0
        assert list_pledges(session, PledgeFilter(actor="Tencent")) == []  # a dry run stores nothing

        first = rescan(session, watchlist)
        assert first.pledges_new == dry.pledges_new and first.relevance_changed > 0
        assert list_pledges(session, PledgeFilter(actor="Tencent"))
        assert list_pledges(session, PledgeFilter(actor="Meituan"))
        assert len(list_pledges(session, PledgeFilter(actor="JD.com"))) == jd_before

        mentions = session.scalar(select(func.count()).select_from(PledgeMention))
        again = rescan(session, watchlist)
        assert (again.pledges_new, again.mentions_linked, again.mentions_withdrawn) == (0, 0, 0)
        assert again.relevance_changed == 0
        assert session.scalar(select(func.count()).select_from(PledgeMention)) == mentions


def test_rescan_alerts_only_what_was_never_alerted(sessions, smtp):
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
    # The JD pledges are alerted once (every age allowed).
    Dispatcher(mail_config(smtp.port, watched(), alert_max_age_days=0), sessions).send_alerts()
    alerted_jd = subjects(smtp.messages)
    assert alerted_jd and all("JD" in subject for subject in alerted_jd)

    with sessions() as session:
        rescan(session, Watchlist(watched(TENCENT)))
    # The default 30-day limit: the sample web's Tencent pledges are years old, so they are
    # recorded as skipped, not mailed; and no JD alert comes again.
    report = Dispatcher(mail_config(smtp.port, watched(TENCENT)), sessions).send_alerts()
    assert subjects(smtp.messages) == alerted_jd
    assert report.skipped_old > 0

    # Allowing every age now alerts nothing either: the skipped ones were recorded as handled.
    Dispatcher(mail_config(smtp.port, watched(TENCENT), alert_max_age_days=0), sessions).send_alerts()
    assert subjects(smtp.messages) == alerted_jd


@pytest.mark.slow
def test_rescan_command_with_a_new_watch_list(tmp_path):
    db = tmp_path / "demo.db"
    assert run_cli("--db", str(db), "demo", "--out", str(tmp_path / "demo")).returncode == 0
    config = tmp_path / "pw.toml"
    config.write_text(
        '[[watchlist]]\nname = "JD.com"\naliases = ["JD", "JD.com", "Jingdong"]\n\n'
        '[[watchlist]]\nname = "Tencent"\naliases = ["Tencent", "WeChat"]\n',
        encoding="utf-8",
    )
    before = run_cli("--db", str(db), "pledges", "list", "--actor", "Tencent", "--format", "json")
    assert before.returncode == 0 and before.stdout.strip() == "[]"

    dry = run_cli("--config", str(config), "--db", str(db), "rescan", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing stored" in dry.stdout and " 0 new pledges" not in dry.stdout

    done = run_cli(
        "--config", str(config), "--db", str(db), "rescan", "--source", "chinadaily", "-s", "people"
    )
    assert done.returncode == 0, done.stderr
    after = run_cli("--db", str(db), "pledges", "list", "--actor", "Tencent", "--format", "json")
    assert after.returncode == 0 and '"actor": "Tencent"' in after.stdout

    again = run_cli("--config", str(config), "--db", str(db), "rescan")
    assert again.returncode == 0 and "rescanned" in again.stdout and " 0 new pledges" in again.stdout

    bad = run_cli("--db", str(db), "rescan", "--source", "nosuchsite")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_version_is_printed_without_a_config_or_archive(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("pledgewatch ")
    assert result.stdout.split()[1][0].isdigit() and not list(tmp_path.iterdir())


def test_a_watch_list_in_the_file_adds_to_the_defaults_unless_told_to_replace(tmp_path):
    added = tmp_path / "added.toml"
    added.write_text('[[watchlist]]\nname = "Tencent"\naliases = ["Tencent"]\n', encoding="utf-8")
    config = load_config(added)
    assert [entity.name for entity in config.watchlist] == ["JD.com", "Tencent"]
    assert config.watchlist_origin == {"JD.com": "default", "Tencent": "file"}

    redefined = tmp_path / "redefined.toml"
    redefined.write_text('[[watchlist]]\nname = "JD.com"\naliases = ["JD"]\n', encoding="utf-8")
    assert [(e.name, e.aliases) for e in load_config(redefined).watchlist] == [("JD.com", ["JD"])]

    replaced = tmp_path / "replaced.toml"
    replaced.write_text(
        '[watchlist_options]\nreplace_defaults = true\n[[watchlist]]\nname = "Tencent"\n', encoding="utf-8"
    )
    assert [entity.name for entity in load_config(replaced).watchlist] == ["Tencent"]

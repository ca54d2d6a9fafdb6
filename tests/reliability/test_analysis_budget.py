"""Issue 19, item 1 (the crawl's half): pledge detection runs in a killable worker with a time
budget per article, off the reactor thread; an article over budget is stored without pledges,
marked for a rescan and counted; a crawl meeting one stops within seconds of SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_crawl import (
    ARTICLES,
    HTML,
    SITE,
    Page,
    article_html,
    db_rows,
    tiny_config,
    tiny_site,
    write_warc,
)
from helpers_reliability import many_pledges_text
from sqlalchemy import select

from pledgewatch.config import Config
from pledgewatch.ingest import AnalysisDeferred, PledgeAnalyzer, ingest, rescan_deferred
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.store.db import ensure_schema, make_engine, session_factory
from pledgewatch.store.models import Article, PledgeMention

HUBEI = "JD.com will invest more than RMB 6 billion in Hubei over the next three years."
SLOW_URL = f"{SITE}/jd-com-amounts-by-province/"


def test_analyzer_gives_up_at_its_budget_and_recovers() -> None:
    analyzer = PledgeAnalyzer(budget=0.3)
    try:
        assert analyzer.extract(HUBEI, datetime(2020, 4, 8, tzinfo=UTC)), "an ordinary text has its pledge"
        started = time.monotonic()
        with pytest.raises(AnalysisDeferred, match=r"over 0\.3 s"):
            analyzer.extract(many_pledges_text(2_000_000), None)
        assert time.monotonic() - started < 3, "the budget is kept: the worker is killed, not waited for"
        # The worker was killed; the next text gets a fresh one and its result.
        assert analyzer.extract(HUBEI, datetime(2020, 4, 8, tzinfo=UTC))
    finally:
        analyzer.close()


def test_abort_stops_an_analysis_in_progress_at_once() -> None:
    stopping = {"now": False}
    analyzer = PledgeAnalyzer(budget=600, should_stop=lambda: stopping["now"])
    try:
        analyzer.extract("warm-up", None)
        started = time.monotonic()
        import threading

        threading.Timer(0.5, lambda: stopping.update(now=True)).start()
        with pytest.raises(AnalysisDeferred, match="stopping"):
            analyzer.extract(many_pledges_text(2_000_000), None)
        assert time.monotonic() - started < 3
    finally:
        analyzer.close()


def _record(url: str, text: str) -> ArticleRecord:
    return ArticleRecord(
        url=url,
        source="jd",
        title="JD.com amounts by province",
        text=text,
        published=datetime(2020, 4, 8, tzinfo=UTC),
    )


def test_article_over_budget_is_stored_marked_and_rescanned(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    ensure_schema(engine)
    sessions = session_factory(engine)
    watchlist = Watchlist(Config().watchlist)
    analyzer = PledgeAnalyzer(budget=0.3, resolver=watchlist.actor_resolver)
    try:
        with sessions() as session:
            slow = ingest(session, _record(SLOW_URL, many_pledges_text(2_000_000)), watchlist, analyzer)
        with sessions() as session:
            fine = ingest(session, _record(f"{SITE}/hubei/", HUBEI), watchlist, analyzer)
    finally:
        analyzer.close()
    assert slow.status == "new" and slow.analysis_deferred and slow.pledges_new == 0
    assert fine.analysis_deferred is None and fine.pledges_new == 1
    with sessions() as session:
        marked = session.scalars(
            select(Article.canonical_url).where(Article.analysis_deferred_at.is_not(None))
        )
        assert [url.rstrip("/") for url in marked] == [SLOW_URL.rstrip("/")]
        # A rescan of a deferred ordinary text finds its pledge and clears the mark.
        article = session.get(Article, fine.article_id)
        assert article is not None
        article.analysis_deferred_at = datetime.now(UTC)
        session.query(PledgeMention).filter(PledgeMention.article_id == fine.article_id).delete()
        session.query(Article).filter(Article.id == slow.article_id).update({"analysis_deferred_at": None})
        session.commit()
        assert rescan_deferred(session, watchlist) == 1
        assert session.get(Article, fine.article_id).analysis_deferred_at is None
        assert session.query(PledgeMention).filter(PledgeMention.article_id == fine.article_id).count() == 1
    engine.dispose()


def _site_with_a_slow_article(tmp_path: Path, chars: int) -> Path:
    pages = tiny_site()
    slow = Page(
        SLOW_URL,
        article_html("JD.com amounts by province", "2020-04-09T10:00:00+08:00", [many_pledges_text(chars)]),
        headers=HTML,
    )
    # Announced by the sitemap, before the others: the crawl meets it first.
    for page in pages:
        if page.url.endswith("wp-sitemap.xml"):
            page.body = page.body.replace(
                b"<url>",
                f"<url><loc>{SLOW_URL}</loc><lastmod>2020-04-09T10:00:00+08:00</lastmod></url><url>".encode(),
                1,
            )
    return write_warc(tmp_path / "site.warc.gz", [*pages, slow])


def _crawl(tmp_path: Path, warc: Path, budget: float) -> subprocess.Popen[str]:
    config = tiny_config(tmp_path / "c.toml", extra=f"analysis_budget = {budget}\n")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pledgewatch",
            "--db",
            str(tmp_path / "a.db"),
            "--config",
            str(config),
            "crawl",
            "--replay",
            str(warc),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PLEDGEWATCH_CONFIG"},
    )


@pytest.mark.slow
def test_replayed_crawl_stores_the_rest_and_defers_the_slow_article(tmp_path: Path) -> None:
    warc = _site_with_a_slow_article(tmp_path, 1_000_000)
    started = time.monotonic()
    process = _crawl(tmp_path, warc, budget=2)
    stdout, stderr = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["analysis_deferred"] == 1
    assert summary["articles_new"] == 4 and summary["errors"] == 0
    rows = dict(
        db_rows(tmp_path / "a.db", "SELECT canonical_url, analysis_deferred_at IS NOT NULL FROM articles")
    )
    assert sum(rows.values()) == 1
    assert next(u for u, marked in rows.items() if marked).rstrip("/") == SLOW_URL.rstrip("/")
    # The ordinary articles got their pledges: the Hubei pledge is there.
    hubei_url = ARTICLES["hubei"][0]
    assert (
        db_rows(
            tmp_path / "a.db",
            "SELECT COUNT(*) FROM pledge_mentions m JOIN articles a ON a.id = m.article_id "
            f"WHERE a.canonical_url LIKE '{hubei_url.rstrip('/')}%'",
        )[0][0]
        >= 1
    )
    assert elapsed < 120


def _analysis_worker_running(parent: int) -> bool:
    """A spawn child of ``parent`` that has burnt CPU: the pledge analysis is in progress."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"multiprocessing" in cmdline and int(stat[11]) > 100:
            return True
    return False


@pytest.mark.slow
def test_sigterm_during_a_long_analysis_stops_the_crawl_within_seconds(tmp_path: Path) -> None:
    warc = _site_with_a_slow_article(tmp_path, 1_000_000)
    process = _crawl(tmp_path, warc, budget=3000)
    deadline = time.monotonic() + 120
    while not _analysis_worker_running(process.pid):
        assert process.poll() is None and time.monotonic() < deadline, "the analysis never started"
        time.sleep(0.2)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    stopped_after = time.monotonic() - sent
    assert stopped_after < 10, f"stopped {stopped_after:.1f} s after SIGTERM"
    # The interrupted article is stored, marked for the rescan and counted: nothing half-stored.
    # (Articles queued behind it when the signal came are stored and marked the same way.)
    deferred = json.loads(stdout)["analysis_deferred"]
    rows = db_rows(tmp_path / "a.db", "SELECT canonical_url, analysis_deferred_at FROM articles")
    marked = [url.rstrip("/") for url, deferred_at in rows if deferred_at is not None]
    assert SLOW_URL.rstrip("/") in marked and deferred == len(marked) >= 1

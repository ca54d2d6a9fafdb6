"""Crawling offline by replay: the sample web end to end, and small sites for the edge cases.

Every crawl runs as a CLI subprocess (Scrapy's reactor cannot restart in one process), the way
users and the daemon run it. The sample web's manifest is the ground truth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import run_cli
from helpers_crawl import ARTICLES, SITE, db_rows, tiny_config, tiny_site, warc_urls, write_warc
from sqlalchemy import create_engine, text

from pledgewatch.cli import main
from pledgewatch.store import crawlruns
from pledgewatch.store.db import ensure_schema, make_engine, session_factory

DATA = Path(__file__).resolve().parent.parent / "pledgewatch" / "data"
SAMPLE_WEB = DATA / "sampleweb.warc.gz"
SAMPLE_WEB_LATER = DATA / "sampleweb-later.warc.gz"
MANIFEST = json.loads((DATA / "sampleweb-manifest.json").read_text(encoding="utf-8"))


def crawl_json(*args: str, config: Path | None = None, db: str | Path) -> dict:
    options = ["--config", str(config)] if config else []
    result = run_cli(*options, "--db", str(db), "crawl", *args, "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def normalised(body: str) -> str:
    """Whitespace-insensitive body; the manifest copies one seed's byline line, which is no body."""
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
    if paragraphs and paragraphs[0].startswith("by "):
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def manifest_articles(snapshot: str) -> dict[str, dict]:
    return {a["url"]: a for a in MANIFEST["articles"] if snapshot in a["snapshots"]}


# --------------------------------------------------------------------------------------------------
# The sample web


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pledgewatch demo` once for the module; tests work on copies of its database."""
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", str(out), timeout=180)
    assert result.returncode == 0, result.stderr
    assert str(out / "articles.json") in result.stdout
    return out


def copy_db(demo_out: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        source = demo_out / f"demo.db{suffix}"
        if source.exists():
            shutil.copy(source, target.with_name(target.name + suffix))
    return target


@pytest.mark.slow
def test_demo_stores_every_sample_article_with_the_right_fields(demo_run: Path) -> None:
    expected = manifest_articles("first")
    summary = json.loads((demo_run / "summary.json").read_text())
    assert summary["articles_new"] == len(expected)
    assert summary["errors"] == 0
    assert summary["missing"] == []

    stored = {a["canonical_url"]: a for a in json.loads((demo_run / "articles.json").read_text())}
    assert set(stored) == set(expected)
    for url, truth in expected.items():
        article = stored[url]
        assert article["source"] == truth["source"], url
        assert article["title"] == truth["title"], url
        assert article["authors"] == truth["authors"], url
        assert article["outlet"] == truth["outlet"], url
        assert datetime.fromisoformat(article["published"]) == datetime.fromisoformat(truth["published"]), url
        assert article["relevant"] == truth["relevant"], url
        assert article["version"] == 1
    texts = dict(db_rows(demo_run / "demo.db", "SELECT canonical_url, text FROM articles"))
    for url, truth in expected.items():
        assert normalised(texts[url]) == normalised(truth["text"]), url
    assert isinstance(json.loads((demo_run / "pledges.json").read_text()), list)


@pytest.mark.slow
def test_demo_writes_the_digest_and_alerts_a_user_would_get(demo_run: Path) -> None:
    pledges = json.loads((demo_run / "pledges.json").read_text())
    hubei = [p for p in pledges if p["region"] == "Hubei" and p["actor"] == "JD.com"]
    assert hubei and hubei[0]["amount_value"] == 6e9
    digest_html = (demo_run / "digest.html").read_text()
    digest_text = (demo_run / "digest.txt").read_text()
    assert "JD.com to Invest over RMB 6 Billion in Hubei" in digest_html
    assert "NEW PLEDGES" in digest_text and "Hubei" in digest_text
    alerts = (demo_run / "alerts.txt").read_text()
    assert "Subject: New pledge: JD.com to invest RMB 6 bn in Hubei over 3 years" in alerts
    # The People's Daily re-report of the Hubei pledge is a known pledge, never a second alert.
    assert alerts.count("Subject: New pledge: JD.com to invest RMB 6 bn in Hubei") == 1


@pytest.mark.slow
def test_second_crawl_of_the_same_web_requests_no_article_page(demo_run: Path, tmp_path: Path) -> None:
    db = copy_db(demo_run, tmp_path / "again.db")
    recording = tmp_path / "second.warc.gz"
    summary = crawl_json(
        "--replay", str(SAMPLE_WEB), "--since", "2015-01-01", "--record", str(recording), db=db
    )

    assert (summary["articles_seen"], summary["articles_new"], summary["articles_updated"]) == (0, 0, 0)
    fetched = dict(warc_urls(recording))
    assert not set(fetched) & set(manifest_articles("first")), "an archived article was requested again"
    # Feeds and listings were asked conditionally and answered "not modified".
    assert 304 in fetched.values()
    assert db_rows(db, "SELECT COUNT(*) FROM articles")[0][0] == len(manifest_articles("first"))


@pytest.mark.slow
def test_later_snapshot_stores_the_edit_as_a_new_version(demo_run: Path, tmp_path: Path) -> None:
    db = copy_db(demo_run, tmp_path / "later.db")
    summary = crawl_json("--replay", str(SAMPLE_WEB_LATER), "--since", "2015-01-01", db=db)

    edited = MANIFEST["special_pages"]["edited_in_later"]
    added = set(manifest_articles("later")) - set(manifest_articles("first"))
    assert summary["articles_updated"] == len(edited)
    assert summary["articles_new"] == len(added)
    versions = dict(db_rows(db, "SELECT canonical_url, version FROM articles"))
    assert {url for url, version in versions.items() if version == 2} == set(edited)
    assert added <= set(versions)
    history = db_rows(
        db,
        "SELECT v.version, v.diff FROM article_versions v JOIN articles a ON a.id = v.article_id "
        f"WHERE a.canonical_url = '{edited[0]}' ORDER BY v.version",
    )
    assert [row[0] for row in history] == [1, 2]
    assert history[1][1]  # what changed is kept
    truth = next(a for a in MANIFEST["articles"] if a["url"] == edited[0])["later"]
    title, body = db_rows(db, f"SELECT title, text FROM articles WHERE canonical_url = '{edited[0]}'")[0]
    assert (title, normalised(body)) == (truth["title"], normalised(truth["text"]))


# --------------------------------------------------------------------------------------------------
# Small sites: one behaviour each


@pytest.mark.slow
def test_missing_pages_are_listed_and_a_later_replay_fills_them(tmp_path: Path, db_url: str) -> None:
    weather = ARTICLES["weather"][0]
    first = write_warc(tmp_path / "first.warc.gz", tiny_site(drop=(weather,)))
    later = write_warc(tmp_path / "later.warc.gz", tiny_site(edited=True))
    config = tiny_config(tmp_path / "pledgewatch.toml")

    recording = tmp_path / "both.warc.gz"
    summary = crawl_json("--replay", str(first), "--record", str(recording), config=config, db=db_url)
    assert summary["missing"] == [weather]
    assert (summary["articles_new"], summary["errors"]) == (2, 0)

    summary = crawl_json("--replay", str(later), "--record", str(recording), config=config, db=db_url)
    assert (summary["articles_new"], summary["articles_updated"], summary["missing"]) == (1, 1, [])
    # The second recording was appended to the first, not written over it.
    assert len(warc_urls(recording, "warcinfo")) == 2
    recorded = warc_urls(recording)
    assert recorded.count((ARTICLES["hubei"][0], 200)) == 2  # first text, then the edit
    assert (weather, 404) not in recorded  # the replay's stand-in for a missing page is no response
    assert (weather, 200) in recorded

    engine = create_engine(db_url)
    with engine.connect() as connection:
        runs = connection.execute(
            text("SELECT status, trigger, articles_new, articles_updated FROM crawl_runs ORDER BY id")
        ).all()
        validators = dict(connection.execute(text("SELECT url, etag FROM fetch_validators")).all())
    engine.dispose()
    assert [tuple(run) for run in runs] == [("ok", "cli", 2, 0), ("ok", "cli", 1, 1)]
    assert validators[f"{SITE}/wp-sitemap.xml"] == '"sitemap-v2"'


@pytest.mark.slow
def test_listing_stops_paginating_at_known_articles(tmp_path: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = tiny_config(tmp_path / "pledgewatch.toml", start_urls=[f"{SITE}/"])
    db = tmp_path / "archive.db"
    crawl_json("--replay", str(archive), config=config, db=db)
    # Forget page 1's validators so it is fetched again (a changed page, as on a live site).
    db_rows(db, f"DELETE FROM fetch_validators WHERE url = '{SITE}/'")

    recording = tmp_path / "again.warc.gz"
    summary = crawl_json("--replay", str(archive), "--record", str(recording), config=config, db=db)
    fetched = [url for url, _ in warc_urls(recording)]
    assert f"{SITE}/" in fetched
    assert f"{SITE}/page/2/" not in fetched  # page 1 held only known articles
    assert summary["articles_seen"] == 0


@pytest.mark.slow
def test_publication_window_skips_old_articles_and_stops_pagination(tmp_path: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = tiny_config(tmp_path / "pledgewatch.toml", start_urls=[f"{SITE}/"])
    recording = tmp_path / "rec.warc.gz"
    summary = crawl_json(
        "--replay", str(archive), "--since", "2021-01-01", "--record", str(recording),
        config=config, db=tmp_path / "a.db",
    )  # fmt: skip
    # Page 1 lists only articles published before --since: none is requested, page 2 is not either.
    assert [url for url, _ in warc_urls(recording)] == [f"{SITE}/robots.txt", f"{SITE}/"]
    assert summary["articles_seen"] == 0


@pytest.mark.slow
def test_a_recording_replays_to_the_same_archive(tmp_path: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = tiny_config(tmp_path / "pledgewatch.toml")
    recording = tmp_path / "recorded.warc.gz"
    crawl_json("--replay", str(archive), "--record", str(recording), config=config, db=tmp_path / "a.db")
    summary = crawl_json("--replay", str(recording), config=config, db=tmp_path / "b.db")
    assert (summary["articles_new"], summary["missing"], summary["errors"]) == (3, [], 0)
    query = "SELECT canonical_url, title, text FROM articles ORDER BY canonical_url"
    assert db_rows(tmp_path / "a.db", query) == db_rows(tmp_path / "b.db", query)


@pytest.mark.slow
def test_replay_from_the_config_file_into_the_run_row_the_daemon_opened(tmp_path: Path) -> None:
    write_warc(tmp_path / "site.warc.gz", tiny_site())
    # A relative path in the config is relative to the config file, not to the working directory.
    config = tiny_config(tmp_path / "pledgewatch.toml", extra='replay = "site.warc.gz"\n')
    db = tmp_path / "a.db"
    engine = make_engine(f"sqlite:///{db}")
    ensure_schema(engine)
    with session_factory(engine)() as session:
        run_id = crawlruns.start_run(session, "daemon", ["jd"])
    engine.dispose()

    env = {"PLEDGEWATCH_CRAWL_RUN_ID": str(run_id), "PLEDGEWATCH_CRAWL_TRIGGER": "daemon"}
    result = run_cli("--config", str(config), "--db", str(db), "crawl", env=env)
    assert result.returncode == 0, result.stderr
    assert "crawl: ok" in result.stdout
    assert "articles new          3" in result.stdout
    assert "missing from archive  0" in result.stdout
    assert db_rows(db, "SELECT id, trigger, status, articles_new FROM crawl_runs") == [
        (run_id, "daemon", "ok", 3)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "nosuchsource"], "unknown source 'nosuchsource'"),
        (["crawl", "--replay", "does-not-exist.warc.gz"], "archive not found"),
        (["crawl", "--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["crawl", "--record", "/proc/no/such.warc.gz"], "cannot write the archive /proc/no/such.warc.gz"),
    ],
)
def test_crawl_that_cannot_run_fails_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    # In-process: these are refused before Scrapy's reactor would start.
    monkeypatch.setattr("sys.argv", ["pledgewatch", "--db", str(tmp_path / "a.db"), *args, "--json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert captured.err.strip().splitlines() == [f"error: {captured.err.strip().removeprefix('error: ')}"]
    assert message in captured.err
    assert captured.out == ""


@pytest.mark.slow
def test_a_corrupt_archive_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.warc.gz"
    bogus.write_bytes(b"this is not a WARC file\n" * 10)
    result = run_cli("--db", str(tmp_path / "a.db"), "crawl", "--replay", str(bogus), "--json", timeout=60)
    assert result.returncode == 2
    assert "bogus.warc.gz" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_run_crawl_reports_progress_and_returns_the_summary(tmp_path: Path) -> None:
    """The Python API (one crawl per process, so in a child): progress calls, then the summary."""
    archive = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = tiny_config(tmp_path / "pledgewatch.toml")
    script = f"""
import json
from pledgewatch.config import load_config
from pledgewatch.crawler.crawl import run_crawl
seen = []
summary = run_crawl(load_config({str(config)!r}), {f"sqlite:///{tmp_path / 'a.db'}"!r},
                    replay={str(archive)!r}, progress=lambda s: seen.append(s.articles_new))
out = {{"calls": len(seen), "last": seen[-1], "summary": summary.to_json(), "status": summary.status}}
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["status"] == "ok"
    assert data["summary"]["articles_new"] == 3
    assert data["calls"] >= data["summary"]["pages_fetched"]  # at least one call per response
    assert data["last"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_crawl_progress_line_on_a_terminal_and_none_in_a_pipe(tmp_path: Path, terminal: bool) -> None:
    """The live progress line (rich) is drawn on a terminal and absent when stderr is not one.

    Rich's documented TTY_COMPATIBLE / TTY_INTERACTIVE variables make the child's stderr count as
    an interactive terminal, as it does under a real one (checked by hand with `script`)."""
    archive = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = tiny_config(tmp_path / "pledgewatch.toml")
    env = {"TERM": "xterm-256color", "COLUMNS": "120"}
    env.update({"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"} if terminal else {"TTY_COMPATIBLE": "0"})
    result = run_cli(
        "--db", str(tmp_path / "a.db"), "--config", str(config),
        "crawl", "--replay", str(archive), env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "crawl: ok" in result.stdout and "articles new          3" in result.stdout
    assert "\x1b" not in result.stdout  # the summary stays plain text
    if terminal:
        # The cursor is hidden while the line redraws, then shown again; the last state is there.
        assert "\x1b[?25l" in result.stderr and "\x1b[?25h" in result.stderr
        assert "articles 3 (new 3, upd 0) · errors 0" in result.stderr, result.stderr
    else:
        assert "\x1b" not in result.stderr and "articles" not in result.stderr, result.stderr

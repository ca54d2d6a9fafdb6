"""`pledgewatch crawl`, `pledgewatch import` and `pledgewatch demo`."""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pledgewatch.cli.app import SOURCE_NAMES, app, err, get_context, out, output_dir
from pledgewatch.cli.options import DATE_HELP, RecordOption, ReplayOption, parse_when
from pledgewatch.config import Config
from pledgewatch.crawler.summary import CrawlSummary
from pledgewatch.errors import PledgewatchError, UsageError

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SAMPLE_WEB = DATA_DIR / "sampleweb.warc.gz"
SAMPLE_WEB_LATER = DATA_DIR / "sampleweb-later.warc.gz"


def parse_since(value: str | None) -> date | datetime | None:
    """``--since`` as every command takes a date (cli/options.py): a day, an ISO time, or 30d ago."""
    if not value:
        return None
    return parse_when(value, "--since")


def _describe(summary: CrawlSummary) -> str:
    """One short line (it must fit a terminal beside the spinner)."""
    return (
        f"pages {summary.pages_fetched} · articles {summary.articles_seen} "
        f"(new {summary.articles_new}, upd {summary.articles_updated}) · errors {summary.errors}"
    )


def print_summary(summary: CrawlSummary, title: str = "crawl", window: str = "") -> None:
    """The readable form of the summary (stdout), for people at a terminal; ``window`` names what
    set the publication window, for the line that says why nothing was stored."""
    out.print(f"{title}: {summary.status}")
    rows = [
        ("pages fetched", summary.pages_fetched),
        ("articles seen", summary.articles_seen),
        ("articles new", summary.articles_new),
        ("articles updated", summary.articles_updated),
        ("duplicates", summary.duplicates),
        ("pledges new", summary.pledges_new),
        ("errors", summary.errors),
    ]
    if summary.outside_window:
        rows.append(("older than the window", summary.outside_window))
    if summary.missing is not None:
        rows.append(("missing from archive", len(summary.missing)))
    for label, value in rows:
        out.print(f"  {label:<21} {value}")
    for name, result in summary.sources.items():
        out.print(f"  source {name:<14} {result.describe()}", soft_wrap=True, markup=False)
    for name, result in summary.sources.items():
        if result.health != "ok":
            why = "; ".join(result.health_reasons)
            out.print(f"  health {name:<14} {result.health}: {why}", soft_wrap=True, markup=False)
    for message in summary.error_log[:10]:
        out.print(f"  error: {message}", markup=False)
    if len(summary.error_log) > 10:
        out.print(f"  ... and {len(summary.error_log) - 10} more errors (see `pledgewatch status`)")
    for url in (summary.missing or [])[:10]:
        out.print(f"  missing: {url}", markup=False)
    note = summary.window_note(window or "[crawl] window_days")
    if note:
        err.print(f"note: {note}", soft_wrap=True, markup=False)


def _live_progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err)


@app.command("crawl")
def crawl(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Argument(help=f"Sources to crawl ({SOURCE_NAMES}). Default: all enabled."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help=f"Oldest publication date wanted ({DATE_HELP}); overrides crawl.window_days."),
    ] = None,
    replay: ReplayOption = None,
    record: RecordOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request and article.")] = False,
    enqueue: Annotated[
        bool,
        typer.Option(
            "--enqueue",
            help="Cluster: put the start requests in the cluster's Redis queue (redis_url) for "
            "`pledgewatch worker` processes instead of crawling here (what the daemon runs then).",
        ),
    ] = False,
) -> None:
    """Crawl the publishers' feeds, sitemaps and listings and archive new or edited articles."""
    from pledgewatch.crawler.crawl import crawl_inputs, run_crawl

    app_ctx = get_context(ctx)
    since_value = parse_since(since)
    # Bad arguments first, before the archive is opened (or created at a new path) ...
    crawl_inputs(app_ctx.config, sources or None, replay, record)
    app_ctx.engine(create=True)  # ... then an unusable database, before anything starts
    app_ctx.close()
    show_progress = not as_json and not verbose and err.is_terminal
    progress_bar = _live_progress() if show_progress else None
    task = progress_bar.add_task("crawling", total=None) if progress_bar else None

    def on_progress(summary: CrawlSummary) -> None:
        if progress_bar is not None and task is not None:
            progress_bar.update(task, description=_describe(summary))

    if progress_bar is not None:
        progress_bar.start()
    try:
        summary = run_crawl(
            app_ctx.config,
            app_ctx.db_url,
            sources=sources or None,
            since=since_value,
            replay=replay,
            record=record,
            trigger="cli",
            progress=on_progress if progress_bar else None,
            log_level="INFO" if verbose else "WARNING",
            enqueue=enqueue,
        )
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    if as_json:
        print(json.dumps(summary.to_json()))
    else:
        window = f"--since {since}" if since else f"[crawl] window_days = {app_ctx.config.crawl.window_days}"
        print_summary(summary, window=window)
    if summary.status == "interrupted" and summary.stopped_by == "SIGINT":
        raise typer.Exit(130)  # the shell's convention for Ctrl-C (128 + SIGINT); the work is kept
    if summary.status == "failed":
        # A source that reached nothing (every request failed) or a spider that could not run:
        # cron and the daemon must see it in the exit code, not only in the summary.
        raise typer.Exit(1)


@app.command("import")
def import_archive(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="A WARC file (.warc or .warc.gz) from any crawler.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
) -> None:
    """Archive every article page found in a WARC (backfill from your recordings, IA, Common Crawl)."""
    from pledgewatch.crawler.importer import check_warc, import_warc

    app_ctx = get_context(ctx)
    # A bad WARC first, then the archive: created (and announced) here when it is new.
    check_warc(archive)
    app_ctx.engine(create=True)
    app_ctx.close()
    show_progress = not as_json and err.is_terminal
    progress_bar = (
        Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.description}"),
            console=err,
        )
        if show_progress
        else None
    )
    size = archive.stat().st_size if archive.is_file() else None
    task = progress_bar.add_task("", total=size) if progress_bar else None

    def on_progress(done: int, total: int, summary: CrawlSummary) -> None:
        if progress_bar is not None and task is not None:
            progress_bar.update(task, completed=done, total=total, description=_describe(summary))

    if progress_bar is not None:
        progress_bar.start()
    try:
        summary = import_warc(archive, app_ctx.config, app_ctx.db_url, progress=on_progress)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    if as_json:
        data = summary.to_json()
        print(json.dumps(data))
    else:
        print_summary(summary, title=f"import {archive}")
    if summary.status == "failed":
        # Part of a damaged archive was imported: say so on stderr and in the exit code too.
        print(f"error: {summary.error_log[-1]}", file=sys.stderr)
        raise typer.Exit(1)


def _demo_crawl(config: Config, db_url: str, archive: Path) -> CrawlSummary:
    """One replay crawl of the sample web in a child process (the reactor cannot restart)."""
    from pledgewatch.crawler.crawl import run_crawl_isolated

    demo_config = config.model_copy(deep=True)
    demo_config.crawl.window_days = 0  # the sample web is from 2016-2021: no publication window
    demo_config.crawl.replay = ""
    demo_config.crawl.record = ""
    return run_crawl_isolated(config=demo_config, db_url=db_url, replay=archive, trigger="demo", sources=None)


@app.command("demo")
def demo(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the results.")] = Path(
        "pledgewatch-demo"
    ),
    db_option: Annotated[
        str | None,
        typer.Option("--db", help="Database to crawl into. Default: a fresh SQLite file in --out."),
    ] = None,
    later: Annotated[
        bool, typer.Option("--later", help="Then crawl the later snapshot too (an edited article).")
    ] = False,
) -> None:
    """Crawl the bundled offline sample web and write what a user gets to files.

    articles.json, pledges.json and summary.json, plus the digest (digest.html, digest.txt) and the
    new-pledge alerts (alerts.txt) exactly as the daemon would mail them.
    """
    from pledgewatch.notify.dispatch import Dispatcher
    from pledgewatch.store.db import make_engine, normalise_db_url, session_factory
    from pledgewatch.store.exports import all_articles, all_pledges

    app_ctx = get_context(ctx)
    if db_option and app_ctx.db_option and normalise_db_url(db_option) != normalise_db_url(app_ctx.db_option):
        raise UsageError(f"two databases given: --db {app_ctx.db_option} and demo --db {db_option}")
    if not SAMPLE_WEB.is_file():
        raise PledgewatchError(f"the sample web is not installed: {SAMPLE_WEB}")
    output_dir(out_dir)
    # `pledgewatch --db URL demo` and `pledgewatch demo --db URL` both name the database.
    db_option = db_option or app_ctx.db_option
    if db_option:
        db_url = normalise_db_url(db_option)
    else:
        db_path = out_dir / "demo.db"
        for stale in (db_path, db_path.with_name("demo.db-wal"), db_path.with_name("demo.db-shm")):
            stale.unlink(missing_ok=True)
        db_url = f"sqlite:///{db_path.resolve()}"
    started = time.monotonic()
    snapshots = [SAMPLE_WEB] + ([SAMPLE_WEB_LATER] if later else [])
    summaries: list[dict[str, object]] = []
    for snapshot in snapshots:
        err.print(f"crawling the sample web ({snapshot.name}) by replay ...", soft_wrap=True, markup=False)
        summary = _demo_crawl(app_ctx.config, db_url, snapshot)
        summaries.append(summary.to_json())
        err.print(f"  {_describe(summary)}", soft_wrap=True, markup=False)
    engine = make_engine(db_url)
    try:
        factory = session_factory(engine)
        with factory() as session:
            articles = all_articles(session)
            pledges = all_pledges(session)
        # What the daemon would mail: the same composer, previewed (nothing recorded or sent).
        # The sample web is 2016-2021 news: preview its alerts with no age limit.
        dispatcher = Dispatcher(app_ctx.config, factory, alert_max_age_days=0)
        digest = dispatcher.preview_digest()
        alerts = dispatcher.preview_alerts()
    finally:
        engine.dispose()
    files: dict[str, object] = {
        "articles.json": articles,
        "pledges.json": pledges,
        "summary.json": summaries[0],
    }
    if later:
        files["summary-later.json"] = summaries[1]
    for name, payload in files.items():
        text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        (out_dir / name).write_text(text, encoding="utf-8")
    (out_dir / "digest.html").write_text(digest.html, encoding="utf-8")
    (out_dir / "digest.txt").write_text(digest.text, encoding="utf-8")
    alerts_text = "\n\n".join(f"Subject: {a.subject}\n\n{a.text}" for a in alerts)
    (out_dir / "alerts.txt").write_text(alerts_text + "\n", encoding="utf-8")
    files.update({"digest.html": None, "digest.txt": None, "alerts.txt": None})
    elapsed = time.monotonic() - started
    out.print(
        f"demo: {len(articles)} articles, {len(pledges)} pledges, {len(alerts)} alerts in {elapsed:.1f} s"
    )
    out.print(f"database: {db_url}", markup=False)
    for name in files:
        out.print(f"wrote {out_dir / name}", markup=False)
    if not later:
        out.print(
            "next: see an edit arrive with "
            f"`pledgewatch --db {db_url} crawl --replay {SAMPLE_WEB_LATER} --since 2016-01-01`"
            " (or `pledgewatch demo --later`)",
            markup=False,
        )

"""`pledgewatch run`, `digest`, `alerts` and `pledges feed`: the daemon and its deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pledgewatch.cli.app import app, err, get_context, out, output_dir, pledges_app
from pledgewatch.errors import UsageError


def _dispatcher(ctx: typer.Context, send: bool):  # type: ignore[no-untyped-def]
    """The deliveries' dispatcher; only ``send`` (which records deliveries) creates a new archive,
    a --dry-run at a missing path is refused like every other command that only reads."""
    from pledgewatch.notify.dispatch import Dispatcher
    from pledgewatch.store import db

    app_ctx = get_context(ctx)
    return Dispatcher(app_ctx.config, db.session_factory(app_ctx.engine(create=send)))


@app.command("run")
def run(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option("--once", help="Do what is due once (crawl, alerts, digest if due) and exit: for cron."),
    ] = False,
    stop_grace: Annotated[
        float,
        typer.Option(
            "--stop-grace",
            min=0,
            help="On SIGTERM/SIGINT, seconds a running crawl gets to finish before it is stopped.",
        ),
    ] = 30.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every scheduler step.")] = False,
) -> None:
    """Run the daemon in the foreground: scheduled crawls, alerts at once, digests on schedule."""
    from pledgewatch.scheduler import Daemon, configure_logging

    app_ctx = get_context(ctx)
    configure_logging(verbose)
    daemon = Daemon(app_ctx.config, app_ctx.db_url, app_ctx.engine(create=True), stop_grace=stop_grace)
    with daemon.stopping_on_signals():
        if not once:
            raise typer.Exit(daemon.run_forever())
        report = daemon.run_once()
    crawled = [c for c in report.crawls if c.result is not None]
    err.print(
        f"run --once: {len(crawled)} crawl(s), deliveries {report.deliveries.summary()}, "
        f"digest {'due' if report.digest_due else 'not due'}",
        soft_wrap=True,
    )
    failed = [c for c in crawled if c.result is not None and c.result.status != "ok"]
    if failed or report.deliveries.failed or report.deliveries.deferred:
        raise typer.Exit(1)


@app.command("digest")
def digest(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the next digest to --out without sending or marking it.")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for digest.html and digest.txt (with --dry-run).")
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="Send the next digest now (and any pending).")] = False,
) -> None:
    """Preview (--dry-run --out DIR) or send (--send) the digest of relevant articles not yet sent."""
    if dry_run == send:
        raise UsageError("say either --dry-run --out DIR (write the next digest) or --send (send it now)")
    if dry_run and out_dir is None:
        raise UsageError("--dry-run needs --out DIR")
    if send and out_dir is not None:
        # It was ignored: someone expecting a copy of what was sent got none, without a word.
        raise UsageError("--out goes with --dry-run; --send mails the digest and writes no files")
    dispatcher = _dispatcher(ctx, send)
    if dry_run:
        assert out_dir is not None
        composed = dispatcher.preview_digest()
        output_dir(out_dir)
        (out_dir / "digest.html").write_text(composed.html, encoding="utf-8")
        (out_dir / "digest.txt").write_text(composed.text, encoding="utf-8")
        err.print(
            f"{composed.subject}: wrote digest.html and digest.txt in {out_dir} (not sent)",
            soft_wrap=True,
            markup=False,
        )
        return
    report = dispatcher.send_digest()
    err.print(f"digest: {report.summary()}", soft_wrap=True, markup=False)
    if report.failed or report.deferred:
        raise typer.Exit(1)


def _not_due_line(counts: dict[str, int], max_age: int) -> str:
    """One line saying why new pledges are not alerted (or that every one was)."""
    parts = []
    if counts["too_old"]:
        parts.append(
            f"{counts['too_old']} new pledge mention(s) published more than {max_age} days ago are not "
            "alerted ([email] alert_max_age_days; 0 for no limit)"
        )
    if counts["not_watched"]:
        parts.append(
            f"{counts['not_watched']} are of companies not on the watch list ([[watchlist]], or "
            '[email] alert_on = "all")'
        )
    if counts["rejected"]:
        parts.append(f"{counts['rejected']} were rejected by an analyst (pledges reject)")
    return "; ".join(parts) or "every new pledge of the watch list has been alerted"


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    send: Annotated[bool, typer.Option("--send", help="Send pending and new alerts now.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the alerts that would go out.")] = False,
) -> None:
    """Send (--send) or list (--dry-run) new-pledge alerts not yet delivered."""
    if dry_run == send:
        raise UsageError("say either --dry-run (list the alerts due) or --send (send them now)")
    dispatcher = _dispatcher(ctx, send)
    if dry_run:
        pending = dispatcher.pending_alerts()
        for delivery, composed in pending:
            subject = composed.subject if composed is not None else delivery.subject
            error = f", last error: {delivery.last_error}" if delivery.last_error else ""
            out.print(f"{subject}  (not delivered yet: {delivery.attempts} attempt(s){error})", markup=False)
        due = dispatcher.preview_alerts()
        for composed in due:
            out.print(composed.subject, markup=False)
        why = _not_due_line(dispatcher.alerts_not_due(), dispatcher.alert_max_age_days)
        if not pending and not due:
            err.print(f"no alerts due: {why}", soft_wrap=True, markup=False)
        elif why and not why.startswith("every"):
            err.print(f"note: also {why}", soft_wrap=True, markup=False)
        return
    report = dispatcher.send_alerts()
    err.print(f"alerts: {report.summary()}", soft_wrap=True, markup=False)
    if report.failed or report.deferred:
        raise typer.Exit(1)


@pledges_app.command("feed")
def pledges_feed(
    ctx: typer.Context,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the feed to FILE (default: stdout).")
    ] = None,
    # The bound keeps the number inside what the database's LIMIT takes (a traceback otherwise).
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1_000_000, help="Most recent pledges to include.")
    ] = 200,
    self_url: Annotated[
        str, typer.Option("--self-url", help="Where the feed will be published (Atom rel=self).")
    ] = "",
) -> None:
    """Write an Atom feed of pledges (newest first), for feed readers."""
    from zoneinfo import ZoneInfo

    from pledgewatch.notify.feed import render_pledges_feed
    from pledgewatch.store.deliveries import pledges_for_feed

    app_ctx = get_context(ctx)
    with app_ctx.session() as session:
        xml = render_pledges_feed(
            pledges_for_feed(session, limit), ZoneInfo(app_ctx.config.schedule.timezone), self_url
        )
    if out_file is None:
        typer.echo(xml, nl=False)
        return
    folder = out_file.parent
    if not folder.is_dir():
        # Not created: a mistyped folder would otherwise quietly grow a tree nobody asked for.
        what = "is not a folder" if folder.exists() else "does not exist (create it first)"
        raise UsageError(f"--out {out_file}: {folder} {what}")
    try:
        out_file.write_text(xml, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out_file}: {exc.strerror}") from None
    err.print(f"wrote {out_file}", soft_wrap=True, markup=False)

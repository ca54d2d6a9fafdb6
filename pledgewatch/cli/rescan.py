"""`pledgewatch rescan`: read the stored texts again after a watch-list change or an upgrade."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pledgewatch.cli.app import SOURCE_NAMES, app, err, get_context, out
from pledgewatch.cli.search import parse_day
from pledgewatch.spiders.publisher import get_publisher

if TYPE_CHECKING:
    from pledgewatch.ingest import RescanReport


def describe(report: RescanReport, dry_run: bool) -> str:
    """The one-line summary: what changed (or would change), in words an analyst reads."""
    verb = "would change" if dry_run else "changed"
    return (
        f"rescanned {report.articles} articles: {report.pledges_new} new pledges, "
        f"{report.mentions_linked} more reports of known pledges, "
        f"{report.mentions_withdrawn} mentions withdrawn, "
        f"relevance {verb} for {report.relevance_changed} articles"
        + (" (dry run: nothing stored)" if dry_run else "")
    )


@app.command("rescan")
def rescan_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only articles published from this date (YYYY-MM-DD or 30d / 4w ago)."),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help=f"Only this source ({SOURCE_NAMES}); repeatable."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change and store nothing.")
    ] = False,
) -> None:
    """Re-run relevance and pledge detection over the archived texts (no network).

    After adding a company to the watch list or upgrading pledgewatch, the archive keeps the old
    answers until it is read again. A rescan is idempotent; a pledge already alerted is not
    alerted again, and newly found pledges older than [email] alert_max_age_days are skipped by
    the next alert run, not mailed.
    """
    from pledgewatch.ingest import rescan
    from pledgewatch.pledges.watchlist import Watchlist

    app_ctx = get_context(ctx)
    since_at = parse_day(since, "--since")
    sources = tuple(dict.fromkeys(source or ()))
    for name in sources:
        get_publisher(name)  # an unknown name is one line and exit 2
    watchlist = Watchlist(app_ctx.config.watchlist)
    with app_ctx.session() as session:
        columns = (TextColumn("rescan"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("rescan", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = rescan(
                session, watchlist, since=since_at, sources=sources, dry_run=dry_run, progress=advance
            )
    out.print(describe(report, dry_run), markup=False)

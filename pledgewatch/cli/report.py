"""`pledgewatch report`: the archive's pledges as one self-contained HTML file of charts and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pledgewatch.cli.app import app, err, get_context, output_dir
from pledgewatch.cli.options import known_actor
from pledgewatch.cli.search import parse_day
from pledgewatch.errors import UsageError


@app.command("report")
def report(
    ctx: typer.Context,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Write the report to FILE (an .html file; its folder is created).",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Pledges first reported on or after: YYYY-MM-DD (UTC), ISO time, or 30d / 4w ago."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Pledges first reported on or before this day (YYYY-MM-DD, UTC), before a time, or 30d ago."
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Only this company (any watch-list alias: JD, Jingdong ...)."),
    ] = None,
) -> None:
    """Write an HTML report with charts: pledges over time by company, by kind and region, the
    largest pledges and how widely each was re-reported. One file that opens offline; amounts stay
    in their own currency or unit, with US-dollar estimates marked as such.

    The filters mean what they mean for `pledges list`, so the numbers match its output.
    """
    from zoneinfo import ZoneInfo

    from pledgewatch.notify.report import build_report, check_chart_packages, render_report
    from pledgewatch.store.listing import PledgeFilter

    app_ctx = get_context(ctx)
    filters = PledgeFilter(since=parse_day(since, "--since"), until=parse_day(until, "--until", end=True))
    if filters.since and filters.until and filters.since >= filters.until:
        raise UsageError("--since must be before --until")
    if out_file.is_dir():
        raise UsageError(f"--out {out_file} is a folder: give a file name, e.g. {out_file / 'report.html'}")
    # Before the archive is opened: a missing extra is said as such, whatever the archive.
    check_chart_packages()
    zone = ZoneInfo(app_ctx.config.schedule.timezone)
    with app_ctx.session() as session:
        if actor:
            from pledgewatch.pledges import ActorResolver

            resolver = ActorResolver.from_entities(app_ctx.config.watchlist)
            filters.actor = known_actor(session, actor, resolver, app_ctx.config.watchlist)
        page = render_report(build_report(session, filters, zone))
    output_dir(out_file.parent)
    try:
        out_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out_file}: {exc.strerror}") from None
    err.print(f"wrote {out_file}", soft_wrap=True, markup=False)

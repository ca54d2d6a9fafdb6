"""`pledgewatch worker`: one crawler of the cluster's shared Redis queue (docs/deployment.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from pledgewatch.cli.app import SOURCE_NAMES, app, get_context
from pledgewatch.cli.options import RecordOption, ReplayOption
from pledgewatch.errors import UsageError


@app.command("worker")
def worker(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Option(
            "--sources",
            help=f"Only these sources' requests ({SOURCE_NAMES}; repeat or comma-separate). "
            "Default: all enabled.",
        ),
    ] = None,
    replay: ReplayOption = None,
    record: RecordOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request and article.")] = False,
) -> None:
    """Crawl requests from the cluster's Redis queue (redis_url) into the archive until SIGTERM.

    Any number of workers, on any hosts (docs/deployment.md).
    """
    from pledgewatch.crawler.crawl import run_worker

    app_ctx = get_context(ctx)
    names = [name.strip() for value in sources or [] for name in value.split(",") if name.strip()]
    if not app_ctx.config.cluster.redis_url:
        # Before the archive is opened: a worker without a queue must not create one.
        raise UsageError("a worker needs [cluster] redis_url in the configuration (docs/deployment.md)")
    app_ctx.engine(create=True)  # an unusable database is one line now
    app_ctx.close()
    raise typer.Exit(
        run_worker(
            app_ctx.config,
            app_ctx.db_url,
            sources=names or None,
            replay=replay,
            record=record,
            log_level="INFO" if verbose else "WARNING",
        )
    )

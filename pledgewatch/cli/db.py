"""`pledgewatch db ...` and `pledgewatch config ...`: schema and configuration housekeeping."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from pledgewatch.cli.app import app, config_app, db_app, get_context, out
from pledgewatch.config import Config
from pledgewatch.errors import UsageError
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.store import db


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the database to the latest schema (or REVISION). Safe to run repeatedly."""
    app_ctx = get_context(ctx)
    engine = app_ctx.engine(ensure_schema=False, create=True)
    before = db.current_revision(engine)
    db.upgrade(engine, revision)
    after = db.current_revision(engine)
    where = engine.url.render_as_string()
    if before == after:
        out.print(f"{where}: already at {after}")
    else:
        out.print(f"{where}: upgraded {before or '(empty)'} -> {after}")
    advice = _rescan_advice(engine)
    if advice:
        out.print(advice, soft_wrap=True, markup=False)


def _rescan_advice(engine: object) -> str:
    """One line when the archive's pledges are an older detector's answers ("" otherwise)."""
    from pledgewatch.pledges.version import detector_version
    from pledgewatch.store import meta
    from pledgewatch.store.models import Article

    if db.current_revision(engine) != db.head_revision():  # type: ignore[arg-type]
        return ""  # upgraded to an older revision on purpose: the table may not be there
    with db.session_factory(engine)() as session:  # type: ignore[arg-type]
        recorded = meta.get(session, meta.DETECTOR_VERSION)
        has_articles = session.scalar(select(Article.id).limit(1)) is not None
        if not has_articles:
            if recorded is None:
                meta.put(session, meta.DETECTOR_VERSION, detector_version())
                session.commit()
            return ""
    installed = detector_version()
    if recorded == installed:
        return ""
    was = "an older detector" if recorded in (None, meta.BEFORE_RECORD) else f"detector {recorded}"
    return (
        f"rescan advised: the archive's pledges were found by {was}, this install has {installed}; "
        "run `pledgewatch rescan` to read the stored texts again (no network, no repeated alerts)"
    )


# ignore_unknown_options: the relative revision `-1` that the help suggests would otherwise be
# taken for an option ("No such option: -1").
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Migrate the database back to REVISION (drops what later revisions added: `base` drops all)."""
    engine = get_context(ctx).engine(ensure_schema=False)
    if not yes:
        where = engine.url.render_as_string()
        if not sys.stdin.isatty():
            raise UsageError(
                f"downgrading {where} to {revision} can drop archived data: pass --yes to confirm"
            )
        if not typer.confirm(f"Downgrade {where} to {revision}? This can drop archived data."):
            raise typer.Exit(1)
    db.downgrade(engine, revision)
    out.print(f"{engine.url.render_as_string()}: now at {db.current_revision(engine) or '(base)'}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database URL, its schema revision, the revision this version expects and, on
    SQLite, which function ranks search results."""
    app_ctx = get_context(ctx)
    engine = app_ctx.engine(ensure_schema=False)
    current = db.current_revision(engine)
    head = db.head_revision()
    state = (
        "up to date"
        if current == head
        else ("empty" if current is None else "needs `pledgewatch db upgrade`")
    )
    out.print(f"database: {app_ctx.describe_database()}")
    out.print(f"revision: {current or '(none)'}")
    out.print(f"head:     {head} ({state})")
    if engine.dialect.name == "sqlite":
        from pledgewatch.store import fts5rank

        out.print(f"ranking:  {fts5rank.describe()}")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (file, defaults and environment overrides) as JSON."""
    app_ctx = get_context(ctx)
    data = app_ctx.config.model_dump(mode="json")
    data["database"]["effective_url"] = app_ctx.db_url
    # Which watch-list entries are the built-in defaults and which the file's.
    data["watchlist_origin"] = app_ctx.config.watchlist_origin
    # Every publisher's effective switches, whether or not the file has a section for it.
    data["sources"] = {
        name: app_ctx.config.source(name).model_dump(mode="json") for name in all_publishers()
    } | data["sources"]
    out.print_json(json.dumps(data))


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration; exits non-zero with the offending key when it is wrong.

    Beyond what loading checks, it checks what only a crawl or the daemon would otherwise
    find: the schedule expressions and the names of the configured sources.
    """
    from pledgewatch.crawler.crawl import check_configured_sources
    from pledgewatch.scheduler import parse_schedule

    app_ctx = get_context(ctx)
    for key in ("crawl", "digest"):
        parse_schedule(getattr(app_ctx.config.schedule, key), key, app_ctx.config)
    check_configured_sources(app_ctx.config)
    where = str(app_ctx.config.path) if app_ctx.config.path else "built-in defaults"
    out.print(f"configuration OK ({where})")


def _in_schedule_zone(moment: datetime, config: Config) -> str:
    """A stored (UTC) time in the schedule's zone, named, as the daemon's log and the digest show
    times: "2026-03-02 08:00 Asia/Shanghai (UTC+08:00)"."""
    from zoneinfo import ZoneInfo

    zone_name = config.schedule.timezone
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone_name))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {zone_name} (UTC{offset[:3]}:{offset[3:]})"


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as one JSON object.")] = False,
) -> None:
    """Show what the archive holds: articles, pledges, the last crawl, deliveries not yet sent,
    and each source's health in its latest crawl (ok, degraded, broken, with why)."""
    from pledgewatch.store.crawlruns import latest_health
    from pledgewatch.store.queries import archive_status, isoformat

    app_ctx = get_context(ctx)
    with app_ctx.session() as session:
        state = archive_status(session)
        health = latest_health(session)
    cluster = None
    if app_ctx.config.cluster.redis_url:
        from pledgewatch.crawler.cluster import cluster_status

        cluster = cluster_status(app_ctx.config)
    if as_json:
        data = {
            "database": app_ctx.describe_database(),
            "articles": state.articles,
            "relevant_articles": state.relevant_articles,
            "pledges": state.pledges,
            "pledge_mentions": state.pledge_mentions,
            "last_crawl": {"started": isoformat(state.last_run_started), "status": state.last_run_status}
            if state.last_run_started is not None
            else None,
            "pending_deliveries": state.pending_deliveries,
            "sources": {
                entry.source: {
                    "health": entry.health,
                    "health_reasons": entry.reasons,
                    "run_id": entry.run_id,
                    "checked": isoformat(entry.checked_at),
                }
                for entry in health
            },
        }
        if cluster is not None:
            data["cluster"] = cluster
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(f"database:           {app_ctx.describe_database()}")
    out.print(f"articles:           {state.articles} ({state.relevant_articles} relevant)")
    out.print(f"pledges:            {state.pledges} ({state.pledge_mentions} mentions)")
    last = "never"
    if state.last_run_started is not None:
        last = f"{_in_schedule_zone(state.last_run_started, app_ctx.config)}, {state.last_run_status}"
    out.print(f"last crawl:         {last}")
    out.print(f"pending deliveries: {state.pending_deliveries}")
    if health:
        out.print("source health:")
    for entry in health:
        checked = _in_schedule_zone(entry.checked_at, app_ctx.config)
        out.print(f"  {entry.source:<16} {entry.health} (crawl run {entry.run_id}, {checked})", markup=False)
        for reason in entry.reasons:
            out.print(f"    - {reason}", markup=False, soft_wrap=True)
    if cluster is not None:
        _print_cluster(cluster)


def _print_cluster(cluster: dict) -> None:  # type: ignore[type-arg]
    """The cluster's queue and workers (`[cluster] redis_url`), as `status` prints them."""
    out.print(f"cluster queue:      {cluster['redis']}", markup=False, soft_wrap=True)
    if "error" in cluster:
        out.print(f"  unreachable: {cluster['error']}", markup=False, soft_wrap=True)
        return
    queued = ", ".join(f"{name} {count}" for name, count in cluster["queued"].items())
    held = sum(cluster["in_flight"].values())
    detail = f" ({queued})" if queued else ""
    out.print(f"  queued requests:  {cluster['queue_length']}{detail}", markup=False)
    out.print(f"  in flight:        {held}", markup=False)
    alive = [w for w in cluster["workers"] if w["alive"]]
    gone = len(cluster["workers"]) - len(alive)
    out.print(f"  workers:          {len(alive)} alive, {gone} gone (last day)")
    for entry in cluster["workers"]:
        activity = entry["last_activity_seconds_ago"]
        did = f"last fetch {activity:.0f} s ago" if activity is not None else "nothing fetched yet"
        state = "alive" if entry["alive"] else "gone"
        out.print(
            f"    {entry['worker']:<32} {state:<5} seen {entry['last_seen_seconds_ago']:.0f} s ago, {did}, "
            f"{entry['responses']} responses ({', '.join(entry['sources'])})",
            markup=False,
            soft_wrap=True,
        )

"""`pledgewatch search` (ranked full-text search) and `pledgewatch serve` (read-only Datasette)."""

from __future__ import annotations

import csv
import errno
import hashlib
import importlib.util
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from pledgewatch.cli.app import SOURCE_NAMES, app, err, get_context, out
from pledgewatch.cli.csvcells import spreadsheet_safe
from pledgewatch.cli.options import DATE_HELP, OutputFormat, parse_when, showing
from pledgewatch.errors import PledgewatchError, UsageError
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.store import db
from pledgewatch.store import search as archive_search
from pledgewatch.store.queries import article_to_dict
from pledgewatch.store.search import SearchFilters, SearchHit, highlighted_parts, parse_query

DATASETTE_METADATA = Path(__file__).resolve().parents[1] / "data" / "datasette-metadata.json"
# The display plugin (amounts, times, folded column notes) and the database page's template.
DATASETTE_DIR = Path(__file__).resolve().parents[1] / "data" / "datasette"
# The metadata file names the archive "pledgewatch"; the real name is the database file's stem.
METADATA_DATABASE_KEY = "pledgewatch"


# The one date parser of every command (cli/options.py); the name is kept for its callers.
parse_day = parse_when


def _marked(value: str, start: str = "**", stop: str = "**") -> str:
    return "".join(f"{start}{chunk}{stop}" if hit else chunk for chunk, hit in highlighted_parts(value))


def _rich(value: str) -> Text:
    text = Text()
    for chunk, hit in highlighted_parts(value):
        text.append(chunk, style="bold yellow" if hit else None)
    return text


def hit_to_dict(hit: SearchHit) -> dict[str, object]:
    """The article contract (issue 4) plus the search's rank and snippet (matches in ``**``)."""
    return {**article_to_dict(hit.article), "rank": float(f"{hit.rank:.6g}"), "snippet": _marked(hit.snippet)}


def _csv_value(key: str, value: object) -> object:
    """One spreadsheet cell: URLs separated by spaces (they hold none), other lists by "; "."""
    if isinstance(value, list):
        return (" " if key == "urls" else "; ").join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _write_csv(rows: list[dict[str, object]], fields: list[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: spreadsheet_safe(_csv_value(key, row.get(key))) for key in fields})


CSV_FIELDS = [
    "id",
    "canonical_url",
    "urls",
    "source",
    "outlet",
    "title",
    "authors",
    "published",
    "fetched",
    "updated",
    "story_id",
    "version",
    "relevant",
    "entities",
    "rank",
    "snippet",
]


@app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            help='Words (all must match), "exact phrases", OR between alternatives, -word to exclude.',
            show_default=False,
        ),
    ],
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help=f"Only this source ({SOURCE_NAMES}); repeatable."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help=f"Published on or after: {DATE_HELP}."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Published on or before this day (YYYY-MM-DD, UTC) / before a time.")
    ] = None,
    relevant: Annotated[
        bool, typer.Option("--relevant", help="Only articles naming a watched company.")
    ] = False,
    with_pledges: Annotated[
        bool, typer.Option("--with-pledges", help="Only articles with at least one pledge mention.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many results (1-1000).")] = 20,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="table (terminal), json or csv (stdout)."),
    ] = OutputFormat.table,
) -> None:
    """Ranked full-text search over article titles and texts, with highlighted snippets."""
    parsed = parse_query(query)
    filters = SearchFilters(
        sources=tuple(source or ()),
        since=parse_day(since, "--since"),
        until=parse_day(until, "--until", end=True),
        relevant=relevant,
        with_pledges=with_pledges,
        limit=limit,
        known=tuple(all_publishers()),
    )
    archive_search.check_filters(filters)
    with get_context(ctx).session() as session:
        result = archive_search.search(session, parsed, filters)
        hits = result.hits
        if result.windowed:
            err.print(
                f"note: {filters.rank_window:,} or more articles match; ranked the "
                f"{filters.rank_window:,} most recently archived. Add words or --since/--until to narrow it.",
                soft_wrap=True,
            )
        if output_format is OutputFormat.json:
            print(json.dumps([hit_to_dict(hit) for hit in hits], ensure_ascii=False, indent=2))
            return
        if output_format is OutputFormat.csv:
            _write_csv([hit_to_dict(hit) for hit in hits], CSV_FIELDS)
            return
        if not hits:
            err.print(f"no articles match: {parsed.describe()}", soft_wrap=True, markup=False)
            return
        # A full page may be a cut list: say "showing 3 of 5", never "3 matching" when 5 match.
        total = archive_search.count_matches(session, parsed, filters) if len(hits) >= limit else len(hits)
        title = f"{showing(len(hits), max(total, len(hits)), 'article')} matching {parsed.describe()}"
        table = Table(title=title, show_lines=True)
        table.add_column("id", justify="right")
        table.add_column("published")
        table.add_column("source")
        table.add_column("title / snippet", ratio=1)
        table.add_column("rank", justify="right")
        for hit in hits:
            article = hit.article
            cell = _rich(hit.title or article.title)
            cell.append("\n")
            cell.append_text(_rich(hit.snippet))
            cell.append(f"\n{article.canonical_url}", style="dim")
            published = article.published_at.date().isoformat() if article.published_at else ""
            table.add_row(str(article.id), published, article.source.name, cell, f"{hit.rank:.3g}")
        out.print(table)


def datasette_metadata(database_name: str) -> dict[str, object]:
    """The shipped metadata with its database entry renamed to the archive file's name.

    The dashboard's charts name a canned query (``"query": "@name"``) instead of repeating its
    SQL: a chart and its query cannot drift apart. They get the query's SQL and the database here.
    """
    metadata = json.loads(DATASETTE_METADATA.read_text(encoding="utf-8"))
    databases = metadata.get("databases", {})
    if METADATA_DATABASE_KEY in databases:
        databases[database_name] = databases.pop(METADATA_DATABASE_KEY)
    queries = databases.get(database_name, {}).get("queries", {})
    for dashboard in metadata.get("plugins", {}).get("datasette-dashboards", {}).values():
        for chart in dashboard.get("charts", {}).values():
            reference = chart.get("query", "")
            if reference.startswith("@"):
                chart["query"] = queries[reference[1:]]["sql"]
                chart["db"] = database_name
    return metadata


def check_listen_address(host: str, port: int) -> None:
    """Fail with one line if the web server could not listen on ``host``:``port``.

    Datasette's own failure is a multi-line traceback from its server and exit code 3; a mistyped
    host or a port already taken is the user's to fix, so it is checked here first, the way the
    server binds (every address the name resolves to, SO_REUSEADDR as asyncio sets it). A bad host
    is bad input (exit 2); a port in use or a privileged port is a runtime failure (exit 1).
    """
    try:
        addresses = socket.getaddrinfo(
            host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--host {host}: not an address this machine can listen on ({reason})") from None
    for family, kind, proto, _name, address in dict.fromkeys(
        (f, k, p, "", a) for f, k, p, _n, a in addresses
    ):
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PledgewatchError(
                    f"port {port} on {host} is already in use; choose another with --port (0: any free port)"
                ) from None
            if exc.errno == errno.EACCES:
                raise PledgewatchError(
                    f"port {port} on {host}: permission denied (ports below 1024 need privileges); "
                    "choose another with --port"
                ) from None
            raise UsageError(
                f"--host {host}: not an address this machine can listen on ({exc.strerror or exc})"
            ) from None


def _metadata_file(text: str) -> str:
    """A path Datasette reads its metadata from, that leaves nothing behind.

    ``serve`` replaces itself with Datasette (a signal reaches the server itself), so nothing runs
    afterwards to delete a temporary file. The file is therefore unlinked at once and handed over
    as an inherited descriptor (``/dev/fd/N``; Datasette opens ``--metadata`` once at start).
    Without ``/dev/fd`` the file is kept, one per archive under the same name, not one per run.
    """
    if Path("/dev/fd").is_dir():
        handle, name = tempfile.mkstemp(prefix="pledgewatch-datasette-", suffix=".json")
        os.write(handle, text.encode("utf-8"))
        os.unlink(name)
        os.lseek(handle, 0, os.SEEK_SET)
        os.set_inheritable(handle, True)
        return f"/dev/fd/{handle}"
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"pledgewatch-datasette-{digest}.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    # Checked here: Datasette's own complaint would name `python -m datasette serve`.
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8001,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a web browser.")] = False,
) -> None:
    """Browse the archive read-only in Datasette: tables, views, facets, canned queries (SQLite only)."""
    app_ctx = get_context(ctx)
    # Before the archive is opened: a missing extra or a typo in --host is reported as such.
    if importlib.util.find_spec("datasette") is None:
        raise PledgewatchError("the web view needs Datasette: pip install 'pledgewatch[web]'")
    check_listen_address(host, port)
    engine = app_ctx.engine(ensure_schema=False)
    if engine.dialect.name != "sqlite":
        raise UsageError(
            "the web view needs a SQLite archive; on PostgreSQL use `pledgewatch search` or query the "
            "views pledges_overview and articles_overview (docs/schema.md)"
        )
    app_ctx.engine()  # a missing archive was refused above; an outdated one is refused here
    # In a folder it cannot write, the engine reads a file: URL (db.read_only_url); Datasette gets
    # the file itself, as --immutable, for the same reason (no -shm can be created there).
    immutable = db.read_only_url(app_ctx.db_url) is not None
    database = db.sqlite_path(app_ctx.db_url) or Path(engine.url.database or "")
    if not database.name or str(database) == ":memory:":
        raise UsageError("the web view needs an archive file, not an in-memory database")
    app_ctx.close()
    metadata_path = _metadata_file(json.dumps(datasette_metadata(database.stem), indent=2))
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        *(["--immutable"] if immutable else []),
        str(database),
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        metadata_path,
        "--plugins-dir",
        str(DATASETTE_DIR / "plugins"),
        "--template-dir",
        str(DATASETTE_DIR / "templates"),
        # Reads only: Datasette opens the file with mode=ro; no write plugins, no uploads.
        "--setting",
        "default_page_size",
        "50",
        "--setting",
        "sql_time_limit_ms",
        "3000",
    ]
    if open_browser:
        command.append("--open")
    err.print(
        f"serving {database} read-only at http://{host}:{port}/ (Ctrl-C stops)", soft_wrap=True, markup=False
    )
    sys.stderr.flush()
    sys.stdout.flush()
    # Replace this process: a signal to `pledgewatch serve` reaches the server itself.
    os.execv(sys.executable, command)

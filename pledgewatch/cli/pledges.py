"""`pledgewatch pledges extract` / `pledges list`: detect pledges in texts, query the archive's pledges."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from pledgewatch.cli.app import announce_new_archive, err, get_context, out, pledges_app
from pledgewatch.cli.csvcells import spreadsheet_safe
from pledgewatch.cli.options import (
    DATE_HELP,
    OutputFormat,
    choice,
    known_actor,
    parse_when,
    showing,
    unknown_name,
)
from pledgewatch.cli.options import parse_amount as _parse_amount
from pledgewatch.errors import UsageError
from pledgewatch.pledges.kinds import KINDS
from pledgewatch.store import db

if TYPE_CHECKING:
    # The detector is imported where it runs: `pledgewatch crawl` loads this module too.
    from pledgewatch.pledges import ActorResolver


def _parse_date(value: str, what: str) -> datetime:
    """A user's date (2020-04-08) or ISO time as an aware UTC datetime; naive means UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: not a date (expected YYYY-MM-DD): {value!r}") from None
    if not parsed.tzinfo:
        return parsed.replace(tzinfo=UTC)
    try:
        # Converted here: year 1 east of UTC or 9999-12-31 west of it has no UTC time, and the
        # query would fail on it with a traceback.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{what}: out of range (years 1 to 9999 in UTC): {value!r}") from None


@contextmanager
def _store(db_url: str | None) -> Iterator[Session]:
    """The archive at ``db_url``, or a throw-away SQLite store that lives as long as the command.

    A new archive at ``db_url`` is announced as every other command that creates one does.
    """
    with tempfile.TemporaryDirectory(prefix="pledgewatch-extract-") as tmp:
        path = db.sqlite_path(db_url) if db_url else None
        is_new = path is not None and not path.exists()
        engine = db.make_engine(db_url or f"sqlite:///{Path(tmp) / 'pledges.db'}")
        try:
            db.ensure_schema(engine)
            if is_new:
                assert path is not None
                announce_new_archive(path)
            with db.session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()


def _parse_published(value: str) -> datetime:
    """A report's publication date: YYYY-MM-DD, YYYY-MM or YYYY (a page often shows only the month
    or the year), or an ISO time; a partial date means its first day, in UTC.

    Only the year feeds detection (relative horizons) and identity compares days, so the first
    day of a month is as good as any and keeps the reports' order.
    """
    text = value.strip()
    partial = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", text)
    if partial:
        try:
            return datetime(int(partial.group(1)), int(partial.group(2) or 1), 1, tzinfo=UTC)
        except ValueError:
            raise UsageError(f"not a date: {value!r}") from None
    return _parse_date(text, "published")


class BadLine(Exception):
    """One input line that cannot be processed; the run goes on with the next line."""


def _report_of(obj: object) -> dict[str, Any]:
    """One JSON Lines report, checked: what is wrong with it raises :class:`BadLine`."""
    if not isinstance(obj, dict):
        raise BadLine("expected a JSON object with 'id' and 'text'")
    text = obj.get("text")
    if not isinstance(text, str):
        raise BadLine("'text' is missing" if text is None else "'text' must be a string")
    ref = obj.get("id")
    if ref is not None and (not isinstance(ref, str | int) or isinstance(ref, bool)):
        raise BadLine("'id' must be a string or a number")
    published = obj.get("published")
    when: datetime | None = None
    if published not in (None, ""):
        if not isinstance(published, str):
            raise BadLine("'published' must be a date string (YYYY-MM-DD, YYYY-MM or YYYY) or null")
        try:
            when = _parse_published(published)
        except UsageError:
            raise BadLine(f"'published' is not a date (YYYY-MM-DD, YYYY-MM or YYYY): {published!r}") from None
    source = obj.get("source")
    if source is not None and not isinstance(source, str):
        raise BadLine("'source' must be a string")
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise BadLine("'title' must be a string")
    url = obj.get("url")
    if url is not None and not isinstance(url, str):
        raise BadLine("'url' must be a string")
    return {
        "id": ref,
        "text": text,
        "published": when,
        "source": source,
        "title": title or None,
        "url": url or None,
    }


def _open_lines(path: str) -> Iterator[str]:
    """The input's lines, read as they come (stdin is a stream), not all up front.

    The file is opened here, before any store is: a mistyped name fails at once.
    """
    if path == "-":
        return iter(sys.stdin)
    try:
        handle = Path(path).open(encoding="utf-8")  # noqa: SIM115 - closed by _lines_of when read
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    return _lines_of(handle, path)


def _lines_of(handle: TextIO, path: str) -> Iterator[str]:
    with handle:
        try:
            yield from handle
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: cannot read: {exc}") from None


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, report) for every report of the input, or (line number, what is wrong with it).

    A bad line does not stop the run: the caller reports it and goes on, so one stray line in a
    day's feed does not cost the rest of it.
    """
    return _reports_of(_open_lines(path))


def _reports_of(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        try:
            report = _report_of(obj)
        except BadLine as exc:
            yield number, str(exc)
            continue
        if report["id"] is None:
            report["id"] = number
        yield number, report


def _outcome_to_dict(outcome: Any) -> dict[str, Any]:
    candidate = outcome.candidate
    return {
        "pledge_id": outcome.pledge.id,
        "is_new": outcome.is_new,
        "is_revision": outcome.is_revision,
        "actor": candidate.actor,
        "kind": candidate.kind,
        "amount_value": candidate.amount_value,
        "currency": candidate.currency,
        "amount_unit": candidate.amount_unit,
        "qualifier": candidate.qualifier,
        "region": candidate.region,
        "horizon": candidate.horizon,
        "start_year": candidate.start_year,
        "end_year": candidate.end_year,
        "sentence": candidate.sentence,
        "sentence_index": candidate.sentence_index,
        "evidence": outcome.mention.evidence,
    }


@pledges_app.command("extract")
def extract(
    ctx: typer.Context,
    file: Annotated[
        str | None, typer.Argument(help="A text file to scan (`-` for stdin).", show_default=False)
    ] = None,
    jsonl: Annotated[
        str | None,
        typer.Option(
            "--jsonl",
            help='JSON Lines of reports {"id", "text", "published" (YYYY-MM-DD, YYYY-MM, YYYY or null), '
            '"source", "title" and "url" (optional: the headline and page the text is from, which name '
            'the company when the text says only "the company")}, processed in order as a stream '
            "(`-` for stdin); a bad line is reported on stderr with its number and skipped "
            "(exit code 2 at the end).",
            show_default=False,
        ),
    ] = None,
    published: Annotated[
        str | None,
        typer.Option("--published", help="Publication date of FILE (YYYY-MM-DD, YYYY-MM or YYYY)."),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Outlet of FILE.")] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Headline of FILE (names its company).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Page FILE is from (its slug may name the company).")
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store pledges in this archive instead of a temporary one.", show_default=False
        ),
    ] = None,
) -> None:
    """Detect pledges and print one JSON line per report: its pledges, each new or already known.

    Reports are linked to each other in input order (a re-report is `is_new: false` with the
    first report's `pledge_id`). Nothing is kept unless `--db` (here or before `pledges`) is given.
    """
    app_ctx = get_context(ctx)
    if (file is None) == (jsonl is None):
        raise UsageError("give either FILE (one text) or --jsonl IN.jsonl (a stream of reports)")
    reports: Iterable[tuple[int, dict[str, Any] | str]]
    if jsonl is not None:
        if published or source or title or url:
            raise UsageError(
                "--published, --source, --title and --url apply to FILE; in --jsonl give them per line"
            )
        reports = _read_jsonl(jsonl)
    else:
        assert file is not None
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{file}: cannot read: {exc}") from None
        when = _parse_published(published) if published else None
        reports = [
            (1, {"id": file, "text": text, "published": when, "source": source, "title": title, "url": url})
        ]
    from pledgewatch.pledges import ActorResolver

    resolver = ActorResolver.from_entities(app_ctx.config.watchlist)
    target = db.normalise_db_url(db_url or app_ctx.db_option) if (db_url or app_ctx.db_option) else None
    with _store(target) as session:
        bad = _extract_reports(session, reports, resolver, where=jsonl or file or "")
    if bad:
        raise UsageError(f"{jsonl}: {bad} bad line{'s' if bad != 1 else ''} skipped (each named above)")


# Reports stored per transaction. A commit per report made a run about 40 % slower (801 real
# sentences: 24.5 s against 17.5 s under a profiler): each commit expires the session, and the next
# report's identity lookups load the known pledges and mentions again. A batch is committed at
# this size, after BATCH_SECONDS, and at the end. A batch's output lines are written once it is
# committed, so every line printed is kept.
BATCH_SIZE = 200
BATCH_SECONDS = 2.0


def _extract_reports(
    session: Session,
    reports: Iterable[tuple[int, dict[str, Any] | str]],
    resolver: ActorResolver,
    where: str,
) -> int:
    """Detect and link every report in input order, committing in batches; the number of bad lines.

    On a failure (the database, an interrupt) the batch in progress is rolled back and its
    completed reports are stored again one by one, so nothing processed before the failure is
    lost and its output is still written; then the failure goes on up.
    """
    from pledgewatch.ingest import record_report

    def run(report: dict[str, Any]) -> str:
        outcomes = record_report(
            session,
            str(report["id"]),
            report["text"],
            report["published"],
            report["source"],
            resolver=resolver,
            title=report["title"],
            url=report["url"],
        )
        line = {"id": report["id"], "pledges": [_outcome_to_dict(o) for o in outcomes]}
        return json.dumps(line, ensure_ascii=False) + "\n"

    def flush(lines: list[str]) -> None:
        # Data goes to stdout as is (a console would reflow or restyle it).
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
        lines.clear()

    bad = 0
    done: list[dict[str, Any]] = []
    pending: list[str] = []
    started = time.monotonic()
    try:
        for number, report in reports:
            if isinstance(report, str):
                # Its own line on stderr, at once: the good lines around it go on.
                print(f"{where}: line {number}: {report}", file=sys.stderr, flush=True)
                bad += 1
                continue
            pending.append(run(report))
            done.append(report)
            if len(done) >= BATCH_SIZE or time.monotonic() - started >= BATCH_SECONDS:
                session.commit()
                done.clear()
                flush(pending)
                started = time.monotonic()
        session.commit()
        flush(pending)
    except BaseException:
        session.rollback()
        pending.clear()
        for report in done:
            pending.append(run(report))
            session.commit()
        flush(pending)
        raise
    return bad


def _plain_number(value: float | None) -> str:
    """6e9 as 6000000000 and 1.5e9 as 1500000000: spreadsheets must not see exponents."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _iso_date(value: str | None) -> str:
    return value[:10] if value else ""


CSV_COLUMNS = [
    "pledge_id",
    "actor",
    "kind",
    "amount_value",
    "currency",
    "amount_unit",
    "qualifier",
    "region",
    "horizon",
    "start_year",
    "end_year",
    "revision",
    "first_published",
    "mention_id",
    "mention_published",
    "is_first_report",
    "is_new",
    "is_revision",
    "source",
    "url",
    "report_ref",
    "mention_amount",
    "mention_currency",
    "sentence",
    "evidence_cue",
    "evidence_quantity",
    "evidence_subject",
    "evidence_score",
    "evidence_features",
    "analyst",
    "rejected",
]


def _evidence_cells(evidence: dict[str, Any] | None) -> list[str]:
    """The evidence as five plain cells (features joined by "; "), empty for a mention without any."""
    evidence = evidence or {}
    score = evidence.get("score")
    return [
        str(evidence.get("cue") or ""),
        str(evidence.get("quantity") or ""),
        str(evidence.get("subject") or ""),
        f"{score:.4f}".rstrip("0").rstrip(".") if isinstance(score, int | float) else "",
        "; ".join(str(f) for f in evidence.get("features") or []),
    ]


def _csv(pledges: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for pledge in pledges:
        first = pledge["first_report"]
        for mention in pledge["mentions"]:
            writer.writerow(
                spreadsheet_safe(cell)
                for cell in [
                    pledge["id"],
                    pledge["actor"],
                    pledge["kind"],
                    _plain_number(pledge["amount_value"]),
                    pledge["currency"] or "",
                    pledge["amount_unit"] or "",
                    pledge["qualifier"] or "",
                    pledge["region"] or "",
                    pledge["horizon"] or "",
                    pledge["start_year"] or "",
                    pledge["end_year"] or "",
                    pledge["revision"],
                    _iso_date(pledge["first_published"]),
                    mention["id"],
                    _iso_date(mention["published"]),
                    "yes" if first and mention["id"] == first["id"] else "no",
                    "yes" if mention["is_new"] else "no",
                    "yes" if mention["is_revision"] else "no",
                    mention["source"] or "",
                    mention["url"] or "",
                    mention["report_ref"] or "",
                    _plain_number(mention["amount_value"]),
                    mention["currency"] or "",
                    mention["sentence"],
                    *_evidence_cells(mention["evidence"]),
                    "; ".join(o["summary"] for o in pledge["overrides"]),
                    pledge["rejected"] or "",
                ]
            )
    return buffer.getvalue()


def _amount_text(pledge: dict[str, Any]) -> str:
    value = pledge["amount_value"]
    if value is None:
        return ""
    number, word = f"{value:,.0f}", ""
    for factor, suffix in ((1e9, "bn"), (1e6, "m")):
        if value >= factor:
            number, word = f"{value / factor:.2f}".rstrip("0").rstrip("."), suffix
            break
    unit = pledge["currency"] or pledge["amount_unit"] or ""
    qualifier = f"{pledge['qualifier']} " if pledge["qualifier"] else ""
    return f"{qualifier}{number}{word} {unit}".strip()


# The width of `pledges list --wide` when piped (a terminal's own width otherwise).
WIDE_COLUMNS = 200


def _check_region(session: Session, value: str) -> tuple[str, ...]:
    """The provinces ``--region`` names; a name neither the region tables nor any pledge knows is
    an error with the closest known names."""
    from sqlalchemy import select

    from pledgewatch.pledges.regions import CITIES, MACRO_REGIONS, PROVINCES, find_regions, split_regions
    from pledgewatch.store.models import Pledge

    provinces = sorted({p for _, _, names in find_regions(value) for p in names})
    if provinces:
        return tuple(provinces)
    stored = {
        part for region in session.scalars(select(Pledge.region).distinct()) for part in split_regions(region)
    }
    if any(value.strip().lower() in part.lower() for part in stored):
        return (value.strip(),)
    raise unknown_name("--region", value, {*PROVINCES, *MACRO_REGIONS, *CITIES, *stored}, "region")


def _describe_filters(**given: Any) -> str:
    return " ".join(f"--{name.replace('_', '-')} {value}" for name, value in given.items() if value)


@pledges_app.command("list")
def list_command(
    ctx: typer.Context,
    new_since: Annotated[
        str | None,
        typer.Option(
            "--new-since", help=f"Only pledges pledgewatch first recorded on or after: {DATE_HELP}."
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Company (any watch-list alias: JD, Jingdong ...).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"One of: {', '.join(KINDS)} (any case).")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Province or region (Hubei, Wuhan, Northeast China ...)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help=f"First reported on or after: {DATE_HELP}.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="First reported on or before DATE (a day counts whole; same forms as --since)."
        ),
    ] = None,
    min_amount: Annotated[
        str | None,
        typer.Option("--min-amount", help="Smallest amount, in the pledge's own currency or unit."),
    ] = None,
    max_amount: Annotated[str | None, typer.Option("--max-amount", help="Largest amount.")] = None,
    rejected: Annotated[
        bool, typer.Option("--rejected", help="Also the pledges an analyst rejected (marked so).")
    ] = False,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Table: also each report's sentence, title, link and mention id."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most this many pledges (oldest first).")
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="table (terminal), json or csv (stdout)."),
    ] = OutputFormat.table,
) -> None:
    """List pledges with their first report and every mention (table, JSON or CSV), with the
    analyst's corrections applied."""
    from pledgewatch.pledges import ActorResolver
    from pledgewatch.store.listing import PledgeFilter, list_pledges, pledge_to_dict

    app_ctx = get_context(ctx)
    resolver = ActorResolver.from_entities(app_ctx.config.watchlist)
    with app_ctx.session() as session:
        filters = PledgeFilter(
            new_since=parse_when(new_since, "--new-since"),
            actor=known_actor(session, actor, resolver, app_ctx.config.watchlist) if actor else None,
            kind=choice(kind, KINDS, "--kind") if kind is not None else None,
            regions=_check_region(session, region) if region else (),
            since=parse_when(since, "--since"),
            until=parse_when(until, "--until", end=True),
            min_amount=_parse_amount(min_amount, "--min-amount") if min_amount else None,
            max_amount=_parse_amount(max_amount, "--max-amount") if max_amount else None,
        )
        # Refused as `search` refuses them: an empty list would read as "no such pledge".
        if filters.since and filters.until and filters.since >= filters.until:
            raise UsageError("--since must be before --until")
        if (
            filters.min_amount is not None
            and filters.max_amount is not None
            and filters.min_amount > filters.max_amount
        ):
            raise UsageError("--min-amount must not be larger than --max-amount")
        found = list_pledges(session, filters, include_rejected=rejected)
        total = len(found)
        pledges = [pledge_to_dict(p) for p in found[:limit]]
        if not pledges:
            everything = len(list_pledges(session))
            given = _describe_filters(
                new_since=new_since,
                actor=actor,
                kind=kind,
                region=region,
                since=since,
                until=until,
                min_amount=min_amount,
                max_amount=max_amount,
            )
            why = (
                f"no pledge matches {given} (the archive has {everything} in all)"
                if given
                else "the archive has no pledges yet (crawl, import or `pledgewatch demo` first)"
            )
            err.print(why, soft_wrap=True, markup=False)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(pledges, ensure_ascii=False, indent=2) + "\n")
        return
    if output_format is OutputFormat.csv:
        sys.stdout.write(_csv(pledges))
        sys.stdout.flush()
        return
    if not pledges:
        return
    table = Table(title=showing(len(pledges), total, "pledge"), show_lines=wide)
    # Short fields are never cut or folded (an id, a kind, a date); the long ones fold instead.
    table.add_column("id", no_wrap=True)
    table.add_column("actor", overflow="fold", min_width=7)
    table.add_column("kind", no_wrap=True)
    table.add_column("amount", overflow="fold", min_width=8)
    table.add_column("region", overflow="fold", min_width=7)
    table.add_column("years", no_wrap=True)
    table.add_column("first report", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("sentence, title and link" if wide else "why", overflow="fold", ratio=1, min_width=20)
    for pledge in pledges:
        first = pledge["first_report"] or {}
        years = ""
        if pledge["start_year"] or pledge["end_year"]:
            years = f"{pledge['start_year'] or ''}-{pledge['end_year'] or ''}"
        first_text = " ".join(
            part for part in (_iso_date(first.get("published")), first.get("source") or "") if part
        )
        revised = f" (revised x{pledge['revision']})" if pledge["revision"] else ""
        analyst = "; ".join(o["summary"] for o in pledge["overrides"])
        if wide:
            lines = []
            for mention in pledge["mentions"]:
                link = mention["url"] or mention["report_ref"] or ""
                title = f"{mention['title']} - " if mention.get("title") else ""
                lines.append(
                    f"m{mention['id']} {_iso_date(mention['published'])} {mention['source'] or ''}: "
                    f'"{mention["sentence"]}" {title}{link}'
                )
            detail = "\n".join(lines)
        else:
            # Why the first report was read as a pledge: the cue, quantity and subject it rests on.
            detail = first.get("why") or ""
        if analyst:
            detail = f"{detail}\n[analyst: {analyst}]" if detail else f"[analyst: {analyst}]"
        table.add_row(
            str(pledge["id"]) + (" (rejected)" if pledge["rejected"] else ""),
            pledge["actor"],
            pledge["kind"],
            _amount_text(pledge) + revised,
            pledge["region"] or "",
            years,
            first_text,
            str(len(pledge["mentions"])),
            # Text, not markup: "[analyst: ...]" and sentences with brackets print as they are.
            Text(detail),
        )
    if wide and not out.is_terminal:
        # A wide table is meant to be wide: piped (80 columns by default) it would fold every cell.
        from rich.console import Console

        Console(highlight=False, soft_wrap=True, width=max(out.width, WIDE_COLUMNS)).print(table)
        return
    out.print(table)

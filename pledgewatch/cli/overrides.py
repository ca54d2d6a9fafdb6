"""`pledges correct / reject / merge / split`: the analyst's word over the machine's pledges.

Each command records one override (store/overrides.py) with who (``--by``, else the login name)
and when; it holds through every later crawl and rescan and shows in `pledges list`, the feed,
alerts, the digest and the exports.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from pledgewatch.cli.app import get_context, out, pledges_app
from pledgewatch.cli.options import choice, parse_amount
from pledgewatch.errors import UsageError
from pledgewatch.pledges.kinds import KINDS
from pledgewatch.store import overrides

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who says so (default: your login name); kept with the override."),
]


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()[:255]
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"


def _mention_id(value: str) -> int | None:
    """``m34`` (or ``mention:34``) names pledge mention 34; a bare number is not a mention."""
    text = value.strip().lower()
    for prefix in ("mention:", "m"):
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            return int(text[len(prefix) :])
    return None


def _number(value: str, what: str) -> int:
    text = value.strip()
    if not text.isdigit():
        raise UsageError(f"{what} must be a number (a pledge id from `pledges list`), not {value!r}")
    return int(text)


@pledges_app.command("correct")
def correct_command(
    ctx: typer.Context,
    pledge_id: Annotated[str, typer.Argument(metavar="ID", help="The pledge's id (pledges list).")],
    region: Annotated[str | None, typer.Option("--region", help="The right region.")] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The right amount (6e9, 6 billion), same unit.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help=f"The right kind: {', '.join(KINDS)}.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="The right company.")] = None,
    by: ByOption = None,
) -> None:
    """Correct a pledge's region, amount, kind or company; the correction survives every rescan."""
    app_ctx = get_context(ctx)
    changes: dict[str, Any] = {}
    if region is not None:
        if not region.strip():
            raise UsageError("--region must not be empty")
        changes["region"] = region.strip()
    if amount is not None:
        changes["amount_value"] = parse_amount(amount, "--amount")
    if kind is not None:
        changes["kind"] = choice(kind, KINDS, "--kind")
    if actor is not None:
        if not actor.strip():
            raise UsageError("--actor must not be empty")
        from pledgewatch.pledges import ActorResolver

        changes["actor"] = ActorResolver.from_entities(app_ctx.config.watchlist).normalise(actor.strip())
    if not changes:
        raise UsageError("nothing to correct: give --region, --amount, --kind or --actor")
    number = _number(pledge_id, "ID")
    with app_ctx.session() as session:
        row = overrides.correct(session, number, changes, _who(by))
        line = f"pledge {number} {overrides.describe(row)}"
        session.commit()
    out.print(line, markup=False)


@pledges_app.command("reject")
def reject_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="ID|MENTION", help="A pledge id, or m<id> for one report of it (mention ids: --wide)."
        ),
    ],
    why: Annotated[str, typer.Option("--why", help="Why it is not a pledge (kept with the override).")],
    by: ByOption = None,
) -> None:
    """Say a pledge (or one report of it) is not a pledge: never alerted again, left out of listings."""
    if not why.strip():
        raise UsageError("--why must say why (it is kept with the override)")
    mention = _mention_id(target)
    with get_context(ctx).session() as session:
        if mention is not None:
            row = overrides.reject_mention(session, mention, why.strip(), _who(by))
            line = f"pledge {row.pledge_id}: {overrides.describe(row)}"
        else:
            number = _number(target, "ID|MENTION")
            row = overrides.reject_pledge(session, number, why.strip(), _who(by))
            line = f"pledge {number} {overrides.describe(row)}"
        session.commit()
    out.print(line, markup=False)


@pledges_app.command("merge")
def merge_command(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(metavar="ID", help="The pledge to keep.")],
    other: Annotated[str, typer.Argument(metavar="ID", help="The same pledge, merged into the first.")],
    by: ByOption = None,
) -> None:
    """Say two pledges are one: the second's reports become re-reports of the first."""
    with get_context(ctx).session() as session:
        row = overrides.merge(session, _number(keep, "ID"), _number(other, "ID"), _who(by))
        line = overrides.describe(row)
        session.commit()
    out.print(line, markup=False)


@pledges_app.command("split")
def split_command(
    ctx: typer.Context,
    mention: Annotated[
        str, typer.Argument(metavar="MENTION", help="m<id> (or the bare id) of the report to split off.")
    ],
    by: ByOption = None,
) -> None:
    """Say one report is a pledge of its own, not the one it was linked to."""
    number = _mention_id(mention)
    if number is None:
        number = _number(mention, "MENTION")
    with get_context(ctx).session() as session:
        row = overrides.split(session, number, _who(by))
        line = overrides.describe(row)
        session.commit()
    out.print(line, markup=False)

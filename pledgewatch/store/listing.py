"""Listing the archive's pledges: the filters of ``pledges list`` and the JSON shape of a pledge.

One shape for every listing and export (``pledges list``, the demo's pledges.json, the feed's
data), so a field is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from pledgewatch.store.models import Article, Pledge, PledgeMention
from pledgewatch.store.reports import report_order, standing_reports


@dataclass
class PledgeFilter:
    new_since: datetime | None = None
    actor: str | None = None
    kind: str | None = None
    # Provinces; a pledge matches when its region names any of them.
    regions: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_amount: float | None = None
    max_amount: float | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(filters: PledgeFilter) -> Select[tuple[Pledge]]:
    statement = select(Pledge)
    if filters.new_since is not None:
        statement = statement.where(Pledge.created_at >= filters.new_since)
    if filters.actor:
        statement = statement.where(func.lower(Pledge.actor) == filters.actor.lower())
    if filters.kind:
        statement = statement.where(Pledge.kind == filters.kind)
    if filters.regions:
        statement = statement.where(
            or_(*(Pledge.region.ilike(f"%{_escape_like(name)}%", escape="\\") for name in filters.regions))
        )
    if filters.since is not None:
        statement = statement.where(Pledge.first_published_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Pledge.first_published_at < filters.until)
    if filters.min_amount is not None:
        statement = statement.where(Pledge.amount_value >= filters.min_amount)
    if filters.max_amount is not None:
        statement = statement.where(Pledge.amount_value <= filters.max_amount)
    return statement


def current_pledges(
    filters: PledgeFilter | None = None, *, include_withdrawn: bool = False
) -> Select[tuple[Pledge]]:
    """The statement of the pledges ``pledges list`` shows: matching ``filters`` and, unless
    ``include_withdrawn``, stated by at least one report that was not withdrawn.

    The listing and the aggregates (store/aggregates.py) both start from it, so a report's totals
    count exactly the pledges the listing prints.
    """
    statement = _filtered(filters or PledgeFilter())
    if not include_withdrawn:
        statement = statement.where(
            exists().where(PledgeMention.pledge_id == Pledge.id, PledgeMention.withdrawn_at.is_(None))
        )
    return statement


def list_pledges(
    session: Session, filters: PledgeFilter | None = None, *, include_withdrawn: bool = False
) -> list[Pledge]:
    """Pledges matching ``filters``, oldest first report first, with their mentions loaded.

    A pledge whose every mention was withdrawn (no report states it any more) is left out unless
    ``include_withdrawn``: an analyst's listing shows what the archive reports now.
    """
    statement = current_pledges(filters, include_withdrawn=include_withdrawn)
    statement = statement.options(
        selectinload(Pledge.mentions).selectinload(PledgeMention.article).selectinload(Article.source)
    ).order_by(Pledge.first_published_at.is_(None), Pledge.first_published_at, Pledge.id)
    return list(session.scalars(statement))


# Features of a learned decision shown in one line; the rest are in the JSON.
WHY_FEATURES = 3


def why_line(evidence: dict[str, Any] | None) -> str:
    """One line saying why a sentence was taken for a pledge ("" when the mention has no evidence).

    ``cue "will invest", quantity "RMB 6 billion", subject "JD"``, then a learned decision's score
    and weightiest features: what an analyst checks against the sentence before trusting it.
    """
    if not evidence:
        return ""
    parts = [f'{key} "{evidence[key]}"' for key in ("cue", "quantity", "subject") if evidence.get(key)]
    score = evidence.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        parts.append(f"score {score:.2f}")
    features = evidence.get("features") or []
    if features:
        shown = ", ".join(str(f) for f in features[:WHY_FEATURES])
        parts.append(f"features {shown}" + (", ..." if len(features) > WHY_FEATURES else ""))
    return ", ".join(parts)


def mention_to_dict(mention: PledgeMention) -> dict[str, object]:
    article = mention.article
    return {
        "id": mention.id,
        "published": mention.published_at.isoformat() if mention.published_at else None,
        "source": mention.source_name or (article.source.name if article is not None else None),
        "article_id": mention.article_id,
        "url": article.canonical_url if article is not None else None,
        "report_ref": mention.report_ref,
        "sentence": mention.sentence,
        "sentence_index": mention.sentence_index,
        "amount_value": mention.amount_value,
        "currency": mention.currency,
        "is_new": mention.is_new,
        "is_revision": mention.is_revision,
        "evidence": mention.evidence,
        "why": why_line(mention.evidence),
        "withdrawn": mention.withdrawn_at.isoformat() if mention.withdrawn_at else None,
    }


def pledge_to_dict(pledge: Pledge) -> dict[str, object]:
    """The JSON shape of a pledge in every listing and export: its fields, first report and mentions.

    ``mentions`` are what the archive states now; ``withdrawn_mentions`` what an edit took back or
    corrected (the earlier amount of a revised pledge, a dropped sentence), kept as history.
    """
    mentions = standing_reports(pledge)
    withdrawn = sorted((m for m in pledge.mentions if m.withdrawn_at is not None), key=report_order)
    return {
        "id": pledge.id,
        "actor": pledge.actor,
        "kind": pledge.kind,
        "amount_value": pledge.amount_value,
        "currency": pledge.currency,
        "amount_unit": pledge.amount_unit,
        "qualifier": pledge.qualifier,
        "region": pledge.region,
        "horizon": pledge.horizon,
        "start_year": pledge.start_year,
        "end_year": pledge.end_year,
        "revision": pledge.revision,
        "first_published": pledge.first_published_at.isoformat() if pledge.first_published_at else None,
        "created": pledge.created_at.isoformat() if pledge.created_at else None,
        "first_report": mention_to_dict(mentions[0]) if mentions else None,
        "mentions": [mention_to_dict(m) for m in mentions],
        "withdrawn_mentions": [mention_to_dict(m) for m in withdrawn],
    }

"""Listing the archive's pledges: the filters of ``pledges list`` and the JSON shape of a pledge.

One shape for every listing and export (``pledges list``, the demo's pledges.json, the feed's
data), so a field is added in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from pledgewatch.store import overrides
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


def _correctable_conditions(filters: PledgeFilter) -> list[ColumnElement[bool]]:
    """Conditions on fields an analyst may correct (actor, kind, region, amount)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.actor:
        conditions.append(func.lower(Pledge.actor) == filters.actor.lower())
    if filters.kind:
        conditions.append(Pledge.kind == filters.kind)
    if filters.regions:
        conditions.append(
            or_(*(Pledge.region.ilike(f"%{_escape_like(name)}%", escape="\\") for name in filters.regions))
        )
    if filters.min_amount is not None:
        conditions.append(Pledge.amount_value >= filters.min_amount)
    if filters.max_amount is not None:
        conditions.append(Pledge.amount_value <= filters.max_amount)
    return conditions


def _filtered(filters: PledgeFilter, corrected: Collection[int] = ()) -> Select[tuple[Pledge]]:
    """The filters in SQL; a pledge in ``corrected`` passes the correctable ones (checked after)."""
    statement = select(Pledge)
    if filters.new_since is not None:
        statement = statement.where(Pledge.created_at >= filters.new_since)
    if filters.since is not None:
        statement = statement.where(Pledge.first_published_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Pledge.first_published_at < filters.until)
    conditions = _correctable_conditions(filters)
    if conditions and corrected:
        statement = statement.where(or_(and_(*conditions), Pledge.id.in_(list(corrected))))
    elif conditions:
        statement = statement.where(*conditions)
    return statement


def _matches_corrected(values: dict[str, Any], filters: PledgeFilter) -> bool:
    """The correctable filters over a pledge's corrected values (as the SQL does over the machine's)."""
    if filters.actor and str(values["actor"] or "").lower() != filters.actor.lower():
        return False
    if filters.kind and values["kind"] != filters.kind:
        return False
    region = str(values["region"] or "").lower()
    if filters.regions and not any(name.lower() in region for name in filters.regions):
        return False
    amount = values["amount_value"]
    if filters.min_amount is not None and (amount is None or amount < filters.min_amount):
        return False
    return not (filters.max_amount is not None and (amount is None or amount > filters.max_amount))


def current_pledges(
    filters: PledgeFilter | None = None,
    *,
    include_withdrawn: bool = False,
    include_rejected: bool = False,
    corrected: Collection[int] = (),
) -> Select[tuple[Pledge]]:
    """The statement of the pledges ``pledges list`` shows: matching ``filters`` and, unless
    ``include_withdrawn``, stated by at least one report that was not withdrawn; unless
    ``include_rejected``, neither rejected by an analyst nor stated only by rejected reports
    (store/overrides.py).

    The listing and the aggregates (store/aggregates.py) both start from it, so a report's totals
    count exactly the pledges the listing prints.
    """
    statement = _filtered(filters or PledgeFilter(), corrected)
    if not include_rejected:
        statement = statement.where(~overrides.rejected_pledge_clause())
    if not include_withdrawn:
        standing = [PledgeMention.pledge_id == Pledge.id, PledgeMention.withdrawn_at.is_(None)]
        if not include_rejected:
            standing.append(~overrides.rejected_mention_clause())
        statement = statement.where(exists().where(*standing))
    return statement


def list_pledges(
    session: Session,
    filters: PledgeFilter | None = None,
    *,
    include_withdrawn: bool = False,
    include_rejected: bool = False,
) -> list[Pledge]:
    """Pledges matching ``filters``, oldest first report first, with their mentions loaded.

    A pledge whose every mention was withdrawn (no report states it any more) is left out unless
    ``include_withdrawn``: an analyst's listing shows what the archive reports now. Filters on
    the fields an analyst corrected match the corrected values.
    """
    filters = filters or PledgeFilter()
    view = overrides.view_for(session)
    corrected = [
        pledge_id
        for pledge_id in {r.pledge_id for r in view.rows if r.action == overrides.CORRECT}
        if pledge_id
    ]
    statement = current_pledges(
        filters, include_withdrawn=include_withdrawn, include_rejected=include_rejected, corrected=corrected
    )
    statement = statement.options(
        selectinload(Pledge.mentions).selectinload(PledgeMention.article).selectinload(Article.source)
    ).order_by(Pledge.first_published_at.is_(None), Pledge.first_published_at, Pledge.id)
    found = list(session.scalars(statement))
    if not corrected or not _correctable_conditions(filters):
        return found
    wanted = set(corrected)
    return [p for p in found if p.id not in wanted or _matches_corrected(view.effective(p), filters)]


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
        "title": article.title if article is not None else None,
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
    corrected (the earlier amount of a revised pledge, a dropped sentence), kept as history;
    ``rejected_mentions`` the reports an analyst said are not this pledge. The fields are the
    analyst's corrections over the machine's values; ``overrides`` says who changed what, when
    (``machine`` keeps what the detector found, for the fields corrected).
    """
    session = object_session(pledge)
    view = overrides.view_for(session) if session is not None else overrides.OverrideView()
    rejected = [m for m in standing_reports(pledge) if view.mention_rejection(m) is not None]
    mentions = [m for m in standing_reports(pledge) if m not in rejected]
    withdrawn = sorted((m for m in pledge.mentions if m.withdrawn_at is not None), key=report_order)
    values = view.effective(pledge)
    corrections = view.corrections(pledge.id)
    rejection = view.rejection(pledge.id)
    return {
        "id": pledge.id,
        "actor": values["actor"],
        "kind": values["kind"],
        "amount_value": values["amount_value"],
        "currency": pledge.currency,
        "amount_unit": pledge.amount_unit,
        "qualifier": pledge.qualifier,
        "region": values["region"],
        "horizon": pledge.horizon,
        "start_year": pledge.start_year,
        "end_year": pledge.end_year,
        "revision": pledge.revision,
        "first_published": pledge.first_published_at.isoformat() if pledge.first_published_at else None,
        "created": pledge.created_at.isoformat() if pledge.created_at else None,
        "first_report": mention_to_dict(mentions[0]) if mentions else None,
        "mentions": [mention_to_dict(m) for m in mentions],
        "withdrawn_mentions": [mention_to_dict(m) for m in withdrawn],
        "rejected_mentions": [mention_to_dict(m) for m in rejected],
        "corrected": bool(corrections),
        "rejected": (rejection.reason or "not a pledge") if rejection is not None else None,
        "machine": {name: getattr(pledge, name) for name in corrections},
        "overrides": [
            {**overrides.override_to_dict(row), "summary": overrides.describe(row)}
            for row in view.history(pledge.id)
        ],
    }

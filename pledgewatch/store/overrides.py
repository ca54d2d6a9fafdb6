"""An analyst's overrides of the machine's pledges: correct, reject, merge, split.

Why a table of overrides and not edits of the ``pledges`` rows: pledge identity
(:func:`pledgewatch.store.pledges._find_pledge`) links every later report, and every rescan, by
the values the detector found. Writing a corrected region onto the pledge would make the next
report of the same sentence conflict with it and start a second pledge. So the machine's values
stay as detected, the analyst's word is a row here (who and when), and it is applied over them
wherever a pledge is shown, exported, alerted or digested (:class:`OverrideView`).

Two overrides change what identity links, and so hook into linking
(:func:`redirect`, called once per candidate by ``store.pledges``): a merge moves the merged
pledge's reports to the kept one and sends its later reports there too; a split gives one report
a pledge of its own and keeps sending that sentence there. Reports are anchored by their article
(or report_ref) and sentence as well as their id, so a rescan that stores one anew still finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from pledgewatch.errors import UsageError
from pledgewatch.store.models import Article, Pledge, PledgeMention, PledgeOverride, utcnow

CORRECT = "correct"
REJECT = "reject"
MERGE = "merge"
SPLIT = "split"
# What `pledges correct` may change, as the pledge's attribute names.
CORRECTABLE = ("actor", "kind", "region", "amount_value")
_CACHE_KEY = "pledgewatch_overrides"


def _forget(session: Session) -> None:
    session.info.pop(_CACHE_KEY, None)


def _pledge(session: Session, pledge_id: int) -> Pledge:
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise UsageError(f"no pledge {pledge_id} (see `pledgewatch pledges list`)")
    return pledge


def _mention(session: Session, mention_id: int) -> PledgeMention:
    mention = session.get(PledgeMention, mention_id)
    if mention is None:
        raise UsageError(f"no pledge mention {mention_id} (mention ids are in `pledges list --format json`)")
    return mention


def _anchored(mention: PledgeMention, action: str, by: str, **fields: Any) -> PledgeOverride:
    return PledgeOverride(
        action=action,
        mention_id=mention.id,
        article_id=mention.article_id,
        report_ref=mention.report_ref,
        sentence=mention.sentence,
        created_by=by,
        **fields,
    )


def correct(session: Session, pledge_id: int, changes: dict[str, Any], by: str) -> PledgeOverride:
    """Record corrected fields of a pledge (``CORRECTABLE`` names), each with what it was before.

    "Before" is what readers were shown (an earlier correction, else the machine's value), so the
    digest can say "region: Hubei -> Sichuan".
    """
    pledge = _pledge(session, pledge_id)
    unknown = set(changes) - set(CORRECTABLE)
    if unknown or not changes:
        raise UsageError("nothing to correct: give --region, --amount, --kind or --actor")
    view = view_for(session)
    shown = view.effective(pledge)
    recorded = {
        name: {"from": shown[name], "to": value} for name, value in changes.items() if shown[name] != value
    }
    if not recorded:
        said = ", ".join(f"{'amount' if k == 'amount_value' else k} {_shown(v)}" for k, v in changes.items())
        raise UsageError(f"pledge {pledge_id} already has {said}: nothing to correct")
    row = PledgeOverride(action=CORRECT, pledge_id=pledge.id, changes=recorded, created_by=by)
    session.add(row)
    pledge.updated_at = utcnow()  # the feed entry changed
    session.flush()
    _forget(session)
    return row


def reject_pledge(session: Session, pledge_id: int, why: str, by: str) -> PledgeOverride:
    """Say a pledge is not one: never alerted again, left out of listings, the feed and totals."""
    pledge = _pledge(session, pledge_id)
    row = PledgeOverride(action=REJECT, pledge_id=pledge.id, reason=why, created_by=by)
    session.add(row)
    pledge.updated_at = utcnow()
    session.flush()
    _forget(session)
    return row


def reject_mention(session: Session, mention_id: int, why: str, by: str) -> PledgeOverride:
    """Say one report's sentence is not a pledge (a past figure, say); its pledge keeps the others."""
    mention = _mention(session, mention_id)
    row = _anchored(mention, REJECT, by, pledge_id=mention.pledge_id, reason=why)
    session.add(row)
    mention.pledge.updated_at = utcnow()
    session.flush()
    _forget(session)
    return row


def merge(session: Session, keep_id: int, other_id: int, by: str) -> PledgeOverride:
    """Say ``other_id`` is the same pledge as ``keep_id``: its reports move there, as re-reports.

    Moved reports are no longer "new" (the kept pledge has its own first report), so a merge never
    makes an alert; the merged pledge stays as an empty row (identity still finds it, and
    :func:`redirect` sends what it finds to the kept one).
    """
    if keep_id == other_id:
        raise UsageError("merge needs two different pledges")
    keep, other = _pledge(session, view_for(session).kept(keep_id)), _pledge(session, other_id)
    if keep.id == other.id:
        raise UsageError(f"pledge {other_id} is already merged into {keep.id}")
    moved = list(other.mentions)
    for mention in moved:
        mention.pledge = keep
        mention.is_new = False
    if other.first_published_at is not None and (
        keep.first_published_at is None or other.first_published_at < keep.first_published_at
    ):
        keep.first_published_at = other.first_published_at
    row = PledgeOverride(
        action=MERGE,
        pledge_id=keep.id,
        other_pledge_id=other.id,
        changes={"mentions": [m.id for m in moved]},
        created_by=by,
    )
    session.add(row)
    keep.updated_at = other.updated_at = utcnow()
    session.flush()
    _forget(session)
    return row


def split(session: Session, mention_id: int, by: str) -> PledgeOverride:
    """Say one report is a pledge of its own: it gets a new pledge, of which it is the first report.

    The new pledge starts from the machine's values of the one it left, with the report's own
    amount; ``pledges correct`` then sets what differs. As a first report it may be alerted (once,
    and only if it is recent enough, as any new pledge).
    """
    mention = _mention(session, mention_id)
    source = mention.pledge
    if sum(1 for m in source.mentions if m.withdrawn_at is None) < 2:
        raise UsageError(f"mention {mention_id} is the only report of pledge {source.id}: nothing to split")
    amount = mention.amount_value if mention.amount_value is not None else source.amount_value
    currency = mention.currency if mention.amount_value is not None else source.currency
    pledge = Pledge(
        key=f"{source.key}|split{mention.id}"[:255],
        actor=source.actor,
        actor_resolved=source.actor_resolved,
        kind=source.kind,
        amount_value=amount,
        currency=currency,
        amount_unit=source.amount_unit,
        qualifier=source.qualifier,
        region=source.region,
        horizon=source.horizon,
        start_year=source.start_year,
        end_year=source.end_year,
        revision=0,
        first_published_at=mention.published_at,
    )
    session.add(pledge)
    session.flush()
    mention.pledge = pledge
    mention.is_new = True
    mention.is_revision = False
    source.updated_at = utcnow()
    row = _anchored(mention, SPLIT, by, pledge_id=source.id, other_pledge_id=pledge.id)
    session.add(row)
    session.flush()
    _forget(session)
    return row


def redirect(
    session: Session,
    pledge: Pledge | None,
    is_revision: bool,
    sentence: str,
    article: Article | None,
    report_ref: str | None,
) -> tuple[Pledge | None, bool]:
    """The pledge a detected report belongs to once the analyst's merges and splits are applied.

    Called by linking for every candidate, after identity chose ``pledge``: a sentence the analyst
    split off goes to its own pledge again, a merged pledge's report goes to the kept one. Without
    either, ``(pledge, is_revision)`` unchanged.
    """
    anchor = _anchor_clause(article.id if article is not None else None, report_ref, sentence)
    split_to = session.scalar(
        select(PledgeOverride.other_pledge_id)
        .where(PledgeOverride.action == SPLIT, anchor)
        .order_by(PledgeOverride.id.desc())
        .limit(1)
    )
    if split_to is not None:
        target = session.get(Pledge, split_to)
        if target is not None:
            return target, False
    if pledge is None:
        return None, is_revision
    kept = _kept_id(session, pledge.id)
    if kept != pledge.id:
        target = session.get(Pledge, kept)
        if target is not None:
            return target, is_revision
    return pledge, is_revision


def _anchor_clause(article_id: int | None, report_ref: str | None, sentence: str) -> ColumnElement[bool]:
    if article_id is not None:
        where = PledgeOverride.article_id == article_id
    elif report_ref is not None:
        where = PledgeOverride.report_ref == report_ref
    else:
        return false()
    return and_(where, PledgeOverride.sentence == sentence)


def _kept_id(session: Session, pledge_id: int) -> int:
    """Follow merges: the pledge that ``pledge_id``'s reports now belong to."""
    seen = {pledge_id}
    current = pledge_id
    while True:
        kept = session.scalar(
            select(PledgeOverride.pledge_id)
            .where(PledgeOverride.action == MERGE, PledgeOverride.other_pledge_id == current)
            .order_by(PledgeOverride.id.desc())
            .limit(1)
        )
        if kept is None or kept in seen:
            return current
        seen.add(kept)
        current = kept


def rejected_pledge_clause() -> ColumnElement[bool]:
    """SQL: this pledge row was rejected as a whole by an analyst."""
    return exists().where(
        PledgeOverride.action == REJECT,
        PledgeOverride.mention_id.is_(None),
        PledgeOverride.pledge_id == Pledge.id,
    )


def rejected_mention_clause() -> ColumnElement[bool]:
    """SQL: this mention was rejected (by id, or by its article and sentence after a rescan)."""
    return exists().where(
        PledgeOverride.action == REJECT,
        PledgeOverride.mention_id.is_not(None),
        or_(
            PledgeOverride.mention_id == PledgeMention.id,
            and_(
                PledgeOverride.article_id.is_not(None),
                PledgeOverride.article_id == PledgeMention.article_id,
                PledgeOverride.sentence == PledgeMention.sentence,
            ),
            and_(
                PledgeOverride.report_ref.is_not(None),
                PledgeOverride.report_ref == PledgeMention.report_ref,
                PledgeOverride.sentence == PledgeMention.sentence,
            ),
        ),
    )


def override_to_dict(row: PledgeOverride) -> dict[str, Any]:
    """One override as listings and exports show it."""
    return {
        "id": row.id,
        "action": row.action,
        "pledge_id": row.pledge_id,
        "other_pledge_id": row.other_pledge_id,
        "mention_id": row.mention_id,
        "changes": row.changes,
        "reason": row.reason,
        "by": row.created_by,
        "at": row.created_at.isoformat() if row.created_at else None,
    }


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    return "(none)" if value is None else str(value)


def describe(row: PledgeOverride) -> str:
    """One line: "region Hubei -> Sichuan (by ana, 2026-12-02)"."""
    when = row.created_at.date().isoformat() if row.created_at else ""
    who = f"by {row.created_by}, {when}"
    if row.action == CORRECT:
        parts = [
            f"{'amount' if name == 'amount_value' else name} {_shown(change.get('from'))} -> "
            f"{_shown(change.get('to'))}"
            for name, change in (row.changes or {}).items()
        ]
        return f"corrected {'; '.join(parts)} ({who})"
    if row.action == REJECT and row.mention_id is not None:
        return f"report {row.mention_id} rejected: {row.reason or 'not a pledge'} ({who})"
    if row.action == REJECT:
        return f"rejected: {row.reason or 'not a pledge'} ({who})"
    if row.action == MERGE:
        return f"pledge {row.other_pledge_id} merged into {row.pledge_id} ({who})"
    return f"report {row.mention_id} split off as pledge {row.other_pledge_id} ({who})"


@dataclass
class OverrideView:
    """Every override of an archive, loaded once, to apply over the machine's pledges."""

    rows: list[PledgeOverride] = field(default_factory=list)
    _corrections: dict[int, dict[str, Any]] = field(default_factory=dict)
    _rejected: dict[int, PledgeOverride] = field(default_factory=dict)
    _rejected_mentions: list[PledgeOverride] = field(default_factory=list)
    _by_pledge: dict[int, list[PledgeOverride]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in sorted(self.rows, key=lambda r: r.id):
            for pledge_id in {row.pledge_id, row.other_pledge_id} - {None}:
                assert pledge_id is not None
                self._by_pledge.setdefault(pledge_id, []).append(row)
            if row.action == CORRECT and row.pledge_id is not None:
                fields = self._corrections.setdefault(row.pledge_id, {})
                fields.update({name: change.get("to") for name, change in (row.changes or {}).items()})
            elif row.action == REJECT and row.mention_id is None and row.pledge_id is not None:
                self._rejected[row.pledge_id] = row
            elif row.action == REJECT:
                self._rejected_mentions.append(row)

    @property
    def empty(self) -> bool:
        return not self.rows

    def kept(self, pledge_id: int) -> int:
        seen = {pledge_id}
        current = pledge_id
        while True:
            merges = [r for r in self.rows if r.action == MERGE and r.other_pledge_id == current]
            if not merges or merges[-1].pledge_id in seen or merges[-1].pledge_id is None:
                return current
            current = merges[-1].pledge_id
            seen.add(current)

    def corrections(self, pledge_id: int) -> dict[str, Any]:
        return dict(self._corrections.get(pledge_id, {}))

    def effective(self, pledge: Pledge) -> dict[str, Any]:
        """The pledge's correctable fields as readers are shown them (corrections applied)."""
        values = {name: getattr(pledge, name) for name in CORRECTABLE}
        values.update(self._corrections.get(pledge.id, {}))
        return values

    def rejection(self, pledge_id: int) -> PledgeOverride | None:
        return self._rejected.get(pledge_id)

    def mention_rejection(self, mention: PledgeMention) -> PledgeOverride | None:
        for row in self._rejected_mentions:
            if row.mention_id == mention.id:
                return row
            if row.sentence == mention.sentence and (
                (row.article_id is not None and row.article_id == mention.article_id)
                or (row.report_ref is not None and row.report_ref == mention.report_ref)
            ):
                return row
        return None

    def is_rejected(self, pledge: Pledge) -> bool:
        """Rejected as a whole, or every report that stands was rejected."""
        if pledge.id in self._rejected:
            return True
        standing = [m for m in pledge.mentions if m.withdrawn_at is None]
        return bool(standing) and all(self.mention_rejection(m) is not None for m in standing)

    def suppresses_alert(self, mention: PledgeMention) -> bool:
        """A report the analyst said is not a pledge, or of a rejected pledge: never alerted."""
        return self.mention_rejection(mention) is not None or self.is_rejected(mention.pledge)

    def history(self, pledge_id: int) -> list[PledgeOverride]:
        return list(self._by_pledge.get(pledge_id, []))


def view_for(session: Session) -> OverrideView:
    """The archive's overrides, loaded once per session (writes here reload them)."""
    cached = session.info.get(_CACHE_KEY)
    if isinstance(cached, OverrideView):
        return cached
    view = OverrideView(list(session.scalars(select(PledgeOverride).order_by(PledgeOverride.id))))
    session.info[_CACHE_KEY] = view
    return view


def fresh_view(session: Session) -> OverrideView:
    """The overrides as stored now (another process may have added some since the session began)."""
    _forget(session)
    return view_for(session)


def overrides_since(session: Session, after: datetime | None = None) -> list[PledgeOverride]:
    """Overrides recorded after ``after`` (all when None), oldest first."""
    statement = select(PledgeOverride).order_by(PledgeOverride.id)
    if after is not None:
        statement = statement.where(PledgeOverride.created_at > after)
    return list(session.scalars(statement))


class EffectivePledge:
    """A pledge as readers see it: the analyst's corrections over the machine's values.

    Read-only: the renderers (headline, fields) read attributes, and writing the corrected values
    onto the ORM row would flush them into identity's data.
    """

    def __init__(self, pledge: Pledge, corrections: dict[str, Any]) -> None:
        self._pledge = pledge
        self._corrections = corrections

    def __getattr__(self, name: str) -> Any:
        corrections = self.__dict__["_corrections"]
        if name in corrections:
            return corrections[name]
        return getattr(self.__dict__["_pledge"], name)


def effective_pledge(pledge: Pledge) -> Pledge:
    """``pledge`` with its corrections applied (itself when it has none), for rendering."""
    from sqlalchemy.orm import object_session

    session = object_session(pledge)
    if session is None:
        return pledge
    corrections = view_for(session).corrections(pledge.id)
    if not corrections:
        return pledge
    return EffectivePledge(pledge, corrections)  # type: ignore[return-value]

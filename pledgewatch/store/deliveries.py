"""Alerts and digests in the archive: what is owed to the reader, and what was already delivered.

Exactly once rests on three rules, all enforced here:

1. Every item (a pledge mention for alerts; an article, or an edit of one, for digests) belongs
   to at most one delivery of a kind. The ``delivery_items`` unique key (kind, item_type,
   item_id) is the guard: two processes that build the same alert at the same time cannot both
   record it; the loser's transaction rolls back and it sends nothing.
2. A delivery is recorded (``pending``, with its items, in one transaction) before it is sent, and
   marked ``sent`` only after the server accepted it. A failure leaves it ``pending`` with the
   attempt counted and the error kept, so the next run sends it again.
3. Before sending, a process claims the delivery (``pending`` -> ``sending``, attempts + 1) with a
   conditional UPDATE: only one process sends a given delivery at a time. A claim whose process
   died (still ``sending`` after the lease) may be claimed again; that resend carries the same
   Message-ID, which is the one remaining window for a duplicate (see docs/daemon.md).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pledgewatch.store.models import (
    Article,
    ArticleVersion,
    Delivery,
    DeliveryItem,
    Pledge,
    PledgeMention,
    PledgeOverride,
    utcnow,
)
from pledgewatch.store.overrides import rejected_pledge_clause
from pledgewatch.store.reports import REPORT_ORDER

ALERT = "alert"
DIGEST = "digest"
# A source-health notice to the operator: a source turned degraded or broken, or recovered.
HEALTH = "health"
# The crawl run whose source health changed (one notice per run, carrying every change in it).
ITEM_CRAWL_RUN = "crawl_run"
ITEM_ARTICLE = "article"
ITEM_MENTION = "pledge_mention"
# An edit (version 2, 3, ...) of an article a digest already carried: the next digest shows the
# article again as updated, so a correction reaches digest readers too.
ITEM_ARTICLE_VERSION = "article_version"
# An analyst's override (store/overrides.py) of a pledge that was alerted: the next digest says
# it was corrected (or rejected, merged, split), once.
ITEM_OVERRIDE = "pledge_override"

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
SKIPPED = "skipped"


@dataclass(frozen=True)
class DeliveryState:
    """A delivery's bookkeeping as tests and `pledgewatch status` see it."""

    id: int
    kind: str
    status: str
    attempts: int
    message_id: str
    last_error: str | None
    items: tuple[tuple[str, int], ...]


def _not_delivered(kind: str, item_type: str, id_column):  # type: ignore[no-untyped-def]
    return ~exists().where(
        DeliveryItem.kind == kind,
        DeliveryItem.item_type == item_type,
        DeliveryItem.item_id == id_column,
    )


def alert_candidates(session: Session) -> list[PledgeMention]:
    """New and revised pledge mentions of archived articles that no alert has carried yet.

    Re-reports (neither new nor a revision) and withdrawn mentions (an edit took them back) are
    never candidates. Which actors count (the watch list) and how old a mention may be are
    decided by the caller, which knows the configuration.
    """
    statement = (
        select(PledgeMention)
        .where(
            or_(PledgeMention.is_new.is_(True), PledgeMention.is_revision.is_(True)),
            PledgeMention.article_id.is_not(None),
            PledgeMention.withdrawn_at.is_(None),
            _not_delivered(ALERT, ITEM_MENTION, PledgeMention.id),
        )
        .options(
            # The alert lists the pledge's other reports too (outlet, date, link).
            selectinload(PledgeMention.pledge)
            .selectinload(Pledge.mentions)
            .selectinload(PledgeMention.article)
            .selectinload(Article.source),
            selectinload(PledgeMention.article).selectinload(Article.source),
        )
        .order_by(PledgeMention.id)
    )
    return list(session.scalars(statement))


def digest_candidates(session: Session) -> list[Article]:
    """Relevant articles that no digest has carried yet, newest first."""
    statement = (
        select(Article)
        .where(Article.relevant.is_(True), _not_delivered(DIGEST, ITEM_ARTICLE, Article.id))
        .options(selectinload(Article.source))
        .order_by(Article.published_at.desc().nulls_last(), Article.id.desc())
    )
    return list(session.scalars(statement))


def digest_override_candidates(session: Session) -> list[PledgeOverride]:
    """Overrides no digest has carried yet of pledges that an alert already told readers about.

    Readers who were alerted must hear that the pledge was corrected; an override of a pledge
    nobody was told about changes only what later messages say.
    """
    alerted = (
        select(PledgeMention.pledge_id)
        .join(DeliveryItem, DeliveryItem.item_id == PledgeMention.id)
        .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
        .where(
            DeliveryItem.kind == ALERT,
            DeliveryItem.item_type == ITEM_MENTION,
            Delivery.status == SENT,
        )
    )
    statement = (
        select(PledgeOverride)
        .where(
            or_(PledgeOverride.pledge_id.in_(alerted), PledgeOverride.other_pledge_id.in_(alerted)),
            _not_delivered(DIGEST, ITEM_OVERRIDE, PledgeOverride.id),
        )
        .order_by(PledgeOverride.id)
    )
    return list(session.scalars(statement))


def overrides_by_ids(session: Session, ids: Iterable[int]) -> list[PledgeOverride]:
    wanted = list(ids)
    if not wanted:
        return []
    return list(
        session.scalars(
            select(PledgeOverride).where(PledgeOverride.id.in_(wanted)).order_by(PledgeOverride.id)
        )
    )


def digest_edit_candidates(session: Session) -> list[ArticleVersion]:
    """Edits (version 2 and later) of relevant articles a digest already carried, not yet digested.

    An edit made before the article's first digest is not one: that digest showed the edited
    article (its versions are recorded with it, see :func:`later_versions`).
    """
    statement = (
        select(ArticleVersion)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(
            ArticleVersion.version > 1,
            Article.relevant.is_(True),
            ~_not_delivered(DIGEST, ITEM_ARTICLE, Article.id),
            _not_delivered(DIGEST, ITEM_ARTICLE_VERSION, ArticleVersion.id),
        )
        .order_by(ArticleVersion.id)
    )
    return list(session.scalars(statement))


def later_versions(session: Session, article_ids: Iterable[int]) -> list[int]:
    """Ids of the versions after the first of these articles (a digest carrying them carries those)."""
    wanted = list(article_ids)
    if not wanted:
        return []
    statement = (
        select(ArticleVersion.id)
        .where(ArticleVersion.article_id.in_(wanted), ArticleVersion.version > 1)
        .order_by(ArticleVersion.id)
    )
    return list(session.scalars(statement))


def articles_of_versions(session: Session, version_ids: Iterable[int]) -> list[int]:
    """The article ids of these versions (what a digest's edit items show), without repeats."""
    wanted = list(version_ids)
    if not wanted:
        return []
    statement = (
        select(ArticleVersion.article_id)
        .where(ArticleVersion.id.in_(wanted))
        .distinct()
        .order_by(ArticleVersion.article_id)
    )
    return list(session.scalars(statement))


def first_digested_at(session: Session, article_ids: Iterable[int]) -> dict[int, datetime]:
    """When a digest first carried each of these articles (pledges found later are news again)."""
    wanted = list(article_ids)
    if not wanted:
        return {}
    statement = (
        select(DeliveryItem.item_id, Delivery.created_at)
        .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
        .where(
            DeliveryItem.kind == DIGEST,
            DeliveryItem.item_type == ITEM_ARTICLE,
            DeliveryItem.item_id.in_(wanted),
        )
    )
    return {item_id: created_at for item_id, created_at in session.execute(statement)}


def mentions_by_ids(session: Session, ids: Iterable[int]) -> list[PledgeMention]:
    wanted = list(ids)
    if not wanted:
        return []
    statement = (
        select(PledgeMention)
        .where(PledgeMention.id.in_(wanted))
        .options(
            # The alert lists the pledge's other reports too (outlet, date, link).
            selectinload(PledgeMention.pledge)
            .selectinload(Pledge.mentions)
            .selectinload(PledgeMention.article)
            .selectinload(Article.source),
            selectinload(PledgeMention.article).selectinload(Article.source),
        )
        .order_by(PledgeMention.id)
    )
    return list(session.scalars(statement))


def articles_by_ids(session: Session, ids: Iterable[int]) -> list[Article]:
    wanted = list(ids)
    if not wanted:
        return []
    statement = (
        select(Article)
        .where(Article.id.in_(wanted))
        .options(selectinload(Article.source))
        .order_by(Article.published_at.desc().nulls_last(), Article.id.desc())
    )
    return list(session.scalars(statement))


def mentions_of_articles(session: Session, article_ids: Iterable[int]) -> list[PledgeMention]:
    """Every pledge mention the given articles state now (not withdrawn by an edit), in reading order."""
    wanted = list(article_ids)
    if not wanted:
        return []
    statement = (
        select(PledgeMention)
        .where(PledgeMention.article_id.in_(wanted), PledgeMention.withdrawn_at.is_(None))
        .options(selectinload(PledgeMention.pledge))
        .order_by(PledgeMention.article_id, PledgeMention.sentence_index, PledgeMention.id)
    )
    return list(session.scalars(statement))


def first_mentions(session: Session, pledge_ids: Iterable[int]) -> dict[int, PledgeMention]:
    """The first report of each pledge that still stands (:mod:`pledgewatch.store.reports`), in one query.

    A mention an edit withdrew is history, not a report a reader can open and find the pledge in.
    """
    wanted = list(set(pledge_ids))
    if not wanted:
        return {}
    statement = (
        select(PledgeMention)
        .where(PledgeMention.pledge_id.in_(wanted), PledgeMention.withdrawn_at.is_(None))
        .options(selectinload(PledgeMention.article).selectinload(Article.source))
        .order_by(PledgeMention.pledge_id, *REPORT_ORDER)
    )
    first: dict[int, PledgeMention] = {}
    for mention in session.scalars(statement):
        first.setdefault(mention.pledge_id, mention)
    return first


def story_articles(session: Session, story_ids: Iterable[int]) -> dict[int, list[Article]]:
    """All archived articles of the given stories: the outlets that carried each story."""
    wanted = list(set(story_ids))
    if not wanted:
        return {}
    statement = (
        select(Article)
        .where(Article.story_id.in_(wanted))
        .options(selectinload(Article.source))
        .order_by(Article.published_at.asc().nulls_last(), Article.id)
    )
    grouped: dict[int, list[Article]] = {}
    for article in session.scalars(statement):
        assert article.story_id is not None
        grouped.setdefault(article.story_id, []).append(article)
    return grouped


def pledges_for_feed(session: Session, limit: int) -> list[Pledge]:
    """The most recently reported pledges, with every mention, for the Atom feed.

    Not those an analyst rejected, nor a pledge merged into another (it has no reports left).
    """
    statement = (
        select(Pledge)
        .where(~rejected_pledge_clause(), exists().where(PledgeMention.pledge_id == Pledge.id))
        .options(
            selectinload(Pledge.mentions).selectinload(PledgeMention.article).selectinload(Article.source)
        )
        .order_by(Pledge.updated_at.desc(), Pledge.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def _message_id(delivery_id: int, kind: str, items: Sequence[tuple[str, int]], created_at: datetime) -> str:
    digest = hashlib.sha256(f"{kind}|{created_at.isoformat()}|{sorted(items)}".encode()).hexdigest()[:16]
    return f"<delivery-{delivery_id}-{digest}@pledgewatch>"


def create_delivery(
    session: Session,
    kind: str,
    items: Sequence[tuple[str, int]],
    *,
    recipients: Sequence[str],
    subject: str,
    channel: str = "email",
    status: str = PENDING,
) -> Delivery | None:
    """Record a delivery and its items in one transaction, before anything is sent.

    Returns None (and records nothing) when one of the items already belongs to another delivery
    of this kind: another process got there first, and it will send it.
    """
    created_at = utcnow()
    delivery = Delivery(
        kind=kind,
        channel=channel,
        recipients=list(recipients),
        subject=subject,
        # Placeholder until the id is known; replaced in the same transaction.
        message_id=f"<tmp-{uuid.uuid4().hex}@pledgewatch>",
        status=status,
        attempts=0,
        created_at=created_at,
    )
    delivery.items = [
        DeliveryItem(kind=kind, item_type=item_type, item_id=item_id) for item_type, item_id in items
    ]
    session.add(delivery)
    try:
        session.flush()
        delivery.message_id = _message_id(delivery.id, kind, items, created_at)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return delivery


def claim(session: Session, delivery_id: int, lease: timedelta) -> bool:
    """Take a delivery for sending: True for exactly one process at a time.

    A delivery is claimable when pending, or when a claim is older than ``lease`` (its process
    died between claim and mark). The attempt is counted here, so a crash counts too.
    """
    now = utcnow()
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(
                Delivery.status == PENDING,
                (Delivery.status == SENDING) & (Delivery.last_attempt_at < now - lease),
            ),
        )
        .values(status=SENDING, attempts=Delivery.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def _set_status(session: Session, delivery_id: int, **values: object) -> None:
    """One delivery's new state, committed at once: what was sent must be known as sent."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def mark_sent(session: Session, delivery_id: int, note: str | None = None) -> None:
    """The server accepted the message: the delivery and its items are done for good."""
    _set_status(session, delivery_id, status=SENT, sent_at=utcnow(), last_error=note)


def mark_skipped(session: Session, delivery_id: int, reason: str) -> None:
    """Nothing can be sent for this delivery (its items vanished or were withdrawn): done for good."""
    _set_status(session, delivery_id, status=SKIPPED, last_error=reason[:2000])


def mark_failed_attempt(session: Session, delivery_id: int, error: str) -> None:
    """Sending failed: back to pending for the next run, with the reason kept."""
    _set_status(session, delivery_id, status=PENDING, last_error=error[:2000])


def retryable_deliveries(session: Session, lease: timedelta, kind: str | None = None) -> list[int]:
    """Ids of deliveries owed to the reader: pending ones and claims whose process died."""
    now = utcnow()
    statement = select(Delivery.id).where(
        or_(
            Delivery.status == PENDING,
            (Delivery.status == SENDING) & (Delivery.last_attempt_at < now - lease),
        )
    )
    if kind is not None:
        statement = statement.where(Delivery.kind == kind)
    return list(session.scalars(statement.order_by(Delivery.id)))


def get_delivery(session: Session, delivery_id: int) -> Delivery:
    statement = select(Delivery).where(Delivery.id == delivery_id).options(selectinload(Delivery.items))
    delivery = session.scalars(statement).one()
    session.refresh(delivery)
    return delivery


def last_digest_at(session: Session) -> datetime | None:
    """When the last digest was made (sent, pending or found empty): the base of "is one due"."""
    return session.scalar(select(func.max(Delivery.created_at)).where(Delivery.kind == DIGEST))


def deliveries_state(session: Session, kind: str | None = None) -> list[DeliveryState]:
    statement = select(Delivery).options(selectinload(Delivery.items)).order_by(Delivery.id)
    if kind is not None:
        statement = statement.where(Delivery.kind == kind)
    return [
        DeliveryState(
            id=d.id,
            kind=d.kind,
            status=d.status,
            attempts=d.attempts,
            message_id=d.message_id,
            last_error=d.last_error,
            items=tuple((item.item_type, item.item_id) for item in d.items),
        )
        for d in session.scalars(statement)
    ]


def last_health_notice_run(session: Session) -> int:
    """The latest crawl run a health notice was recorded for (0: none yet)."""
    value = session.scalar(
        select(func.max(DeliveryItem.item_id)).where(
            DeliveryItem.kind == HEALTH, DeliveryItem.item_type == ITEM_CRAWL_RUN
        )
    )
    return int(value or 0)

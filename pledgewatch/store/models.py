"""The archive's tables as SQLAlchemy 2.0 typed models.

Alembic owns the schema (pledgewatch/alembic/versions); these models must match the migrations,
which tests/test_migrations.py checks with autogenerate. Every time is stored in UTC: the
:class:`UTCDateTime` type turns aware datetimes into UTC on the way in and hands back aware UTC
datetimes on the way out, on SQLite (which keeps no zone) and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names: SQLite batch migrations and PostgreSQL need them to drop or alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always UTC in the database and always timezone-aware in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pledgewatch stores only timezone-aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Source(Base):
    """A publisher that a spider crawls (``jd``, ``chinadaily``, ``people``)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="source")


class Story(Base):
    """One news story: the articles of different outlets that carry it share a story."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="story")


class Article(Base):
    """The latest text of one article of one outlet; earlier texts live in ``article_versions``."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    # "publisher:article id" (pledgewatch.spiders.urls): the same article on any host or URL variant.
    article_key: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(default=list)
    # The outlet as printed on the page when it differs from the publisher ("People's Daily
    # Overseas Edition", "Xinhua"): syndication shows up here.
    outlet: Mapped[str | None] = mapped_column(String(255))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    # Last modification the publisher declares (page "Updated:", feed or sitemap lastmod): a
    # known article is fetched again only when a feed or sitemap announces a later one.
    modified_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # When pledgewatch last stored a changed text (an edit) of this article.
    updated_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # MinHash signature of the text (near-duplicate detection), packed little-endian uint32s.
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    relevant: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Names of the watch-list entities the article mentions.
    entities: Mapped[list[str]] = mapped_column(default=list)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # How the latest text was extracted: parser, layout version and the step that produced each
    # field ("generic", "url_date", "failed", ...), so a site's redesign is visible in the data.
    extraction: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Set when the crawl stored this text without its pledges because detection overran its time
    # budget (or the crawl was stopping); cleared when a rescan detects them (ingest.rescan_deferred).
    analysis_deferred_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship(back_populates="articles")
    story: Mapped[Story | None] = relationship(back_populates="articles")
    urls: Mapped[list[ArticleUrl]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="ArticleUrl.id"
    )
    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="ArticleVersion.version"
    )


class ArticleUrl(Base):
    """Every URL under which an article was seen (aliases), so a variant is never fetched twice."""

    __tablename__ = "article_urls"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[Article] = relationship(back_populates="urls")


class ArticleVersion(Base):
    """One text of an article as fetched at one time; version 1 is the first text."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_article_versions_article_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Unified diff against the previous version (empty for version 1).
    diff: Mapped[str | None] = mapped_column(Text)

    article: Mapped[Article] = relationship(back_populates="versions")


class DedupBucket(Base):
    """One LSH band of one article: articles sharing a (band, key) are near-duplicate candidates.

    Lookups read only the rows of the new article's bands, so their cost does not grow with the
    archive.
    """

    __tablename__ = "dedup_buckets"
    __table_args__ = (Index("ix_dedup_buckets_band_key", "band", "key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    band: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(40))


class Pledge(Base):
    """A commitment with an identity; every report of it is a :class:`PledgeMention`."""

    __tablename__ = "pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identity key used to link re-reports (actor, kind, region, horizon, rounded amount).
    key: Mapped[str] = mapped_column(String(255), index=True)
    actor: Mapped[str] = mapped_column(String(255), index=True)
    # False while no report named the company ("it will ...": ``actor`` is as written); a later
    # report that names it links here and sets the actor (migration 0009).
    actor_resolved: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    kind: Mapped[str] = mapped_column(String(32), index=True)
    amount_value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    amount_unit: Mapped[str | None] = mapped_column(String(32))
    # "more than", "about", "up to" ... as printed, normalised.
    qualifier: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(255), index=True)
    horizon: Mapped[str | None] = mapped_column(String(255))
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    # How many times the amount was revised ("raises its pledge to ..."); 0 for never.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    first_published_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    mentions: Mapped[list[PledgeMention]] = relationship(
        back_populates="pledge", cascade="all, delete-orphan", order_by="PledgeMention.id"
    )

    # Identity narrows candidates by actor, currency and an amount band in one index seek each
    # (store.pledges._find_pledge; migration 0016), not by reading every pledge of the actor.
    __table_args__ = (
        Index("ix_pledges_actor_currency_amount", "actor", "currency", "amount_value"),
        Index("ix_pledges_resolved_currency_amount", "actor_resolved", "currency", "amount_value"),
    )


class PledgeMention(Base):
    """One sentence of one article (or input text) that reports a pledge."""

    __tablename__ = "pledge_mentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    # For texts that are not archived articles (pledges extract --jsonl): the caller's id.
    report_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    source_name: Mapped[str | None] = mapped_column(String(255))
    sentence: Mapped[str] = mapped_column(Text)
    sentence_index: Mapped[int] = mapped_column(Integer)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    # The amount as this report states it (another currency, rounded...).
    amount_value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    is_new: Mapped[bool] = mapped_column(Boolean, default=False)
    is_revision: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Why the detector took the sentence for a pledge: {"cue", "quantity", "subject"} as printed,
    # optionally "score" and "features" (pledgewatch.pledges' candidate evidence); None before 0009.
    evidence: Mapped[dict[str, Any] | None]
    # Set when the report no longer states this (an edit dropped or corrected the sentence): the
    # row stays as history, and alerts already made for it stay valid.
    withdrawn_at: Mapped[datetime | None]
    # The sentence's distinctive purpose stems as identity compares them (space-separated), and
    # the key they were computed under (store.pledges.PURPOSE_VERSION and the pledge's actor):
    # computed once per mention, not per lookup; recomputed when the key no longer matches.
    # NULL before migration 0016 (computed at the next lookup that reads the mention).
    purpose_stems: Mapped[str | None] = mapped_column(Text)
    purpose_key: Mapped[str | None] = mapped_column(String(320))

    __table_args__ = (Index("ix_pledge_mentions_currency_amount", "currency", "amount_value"),)

    pledge: Mapped[Pledge] = relationship(back_populates="mentions")
    article: Mapped[Article | None] = relationship()


class CrawlRun(Base):
    """One crawl or import, with its counts and errors: the daemon's run history."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    # running | ok | failed | interrupted
    status: Mapped[str] = mapped_column(String(16), default="running")
    # cli | daemon | demo | import
    trigger: Mapped[str] = mapped_column(String(16), default="cli")
    sources: Mapped[list[str]] = mapped_column(default=list)
    replay: Mapped[str | None] = mapped_column(Text)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_seen: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    articles_updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    pledges_new: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_log: Mapped[list[str]] = mapped_column(default=list)
    # The process running the crawl (the daemon's crawl child): a `running` row whose process is
    # gone is a crawl that died, not one to wait for.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    # Source health of this run, by source (migration 0012): {"people": {"health": "degraded",
    # "reasons": [...], "counts": {...}, "dead_start_urls": {url: runs}}}. NULL for runs before
    # 0012, imports and crawls that never finished; `pledgewatch status` shows the latest per source.
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class FetchValidator(Base):
    """ETag / Last-Modified per feed or listing URL, so an unchanged page costs a 304."""

    __tablename__ = "fetch_validators"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """An alert or digest: recorded before it is sent, marked sent once the server accepted it."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # alert | digest
    kind: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="email")
    recipients: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    # Stable Message-ID: a resend after a crash between send and mark carries the same id.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # pending | sending (claimed by a process, in flight) | sent | failed | skipped (empty digest,
    # alert items too old or withdrawn)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    items: Mapped[list[DeliveryItem]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="DeliveryItem.id"
    )


class DeliveryItem(Base):
    """What a delivery carried. The unique key makes every item part of exactly one delivery of a kind."""

    __tablename__ = "delivery_items"
    __table_args__ = (UniqueConstraint("kind", "item_type", "item_id", name="uq_delivery_items_kind_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # article | pledge_mention
    item_type: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int] = mapped_column(Integer)

    delivery: Mapped[Delivery] = relationship(back_populates="items")


class PledgeOverride(Base):
    """An analyst's word on a pledge, kept with who and when (pledgewatch.store.overrides).

    ``action`` is ``correct`` (``changes``: field -> {"from", "to"}), ``reject`` (a pledge, or one
    report of it: ``mention_id`` and its anchor), ``merge`` (``other_pledge_id`` is the same pledge
    as ``pledge_id``; its reports moved there) or ``split`` (the report ``mention_id`` is a pledge
    of its own, ``other_pledge_id``). A report is anchored by its article (or report_ref) and
    sentence too, so a rescan that stores it anew still finds the analyst's word on it.
    """

    __tablename__ = "pledge_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    pledge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    other_pledge_id: Mapped[int | None] = mapped_column(Integer, index=True)
    mention_id: Mapped[int | None] = mapped_column(Integer, index=True)
    article_id: Mapped[int | None] = mapped_column(Integer, index=True)
    report_ref: Mapped[str | None] = mapped_column(String(255))
    sentence: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArchiveMeta(Base):
    """A named fact about the archive (the pledge detector version it was last read with)."""

    __tablename__ = "archive_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

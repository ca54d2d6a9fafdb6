"""The delivery cycle shared by the daemon and the CLI: retry what is owed, then send what is new.

Every path that sends mail goes through here, so the exactly-once rules (store/deliveries.py) hold
whether a message goes out from `pledgewatch run`, `run --once`, `digest --send` or `alerts --send`:

1. deliveries still pending (an SMTP failure, a crash) are sent again first, with their Message-ID;
2. new items become new deliveries, recorded before they are sent;
3. each send is claimed, and marked sent only after the server accepted it.

A pass sends over one SMTP connection (:meth:`Dispatcher.sending`). When the server cannot be
reached, the delivery being sent counts a failed attempt and the rest of the pass is not tried
(``deferred``: still pending, attempts unchanged), so a dead server costs one timeout per run, not
one per message; the next run sends them all.

A message is rendered from its delivery's items each time it is sent, so a retry carries the same
items as the first attempt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from pledgewatch.config import Config
from pledgewatch.notify.alerts import Footer, alert_report, compose_alert, is_alertable
from pledgewatch.notify.digest import Digest, build_digest, render_digest
from pledgewatch.notify.health import changes_in_run, compose_health_notice
from pledgewatch.notify.mailer import MailBatch, Mailer, SendError, build_message
from pledgewatch.notify.rendering import ComposedMessage
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store import crawlruns, overrides
from pledgewatch.store import deliveries as store
from pledgewatch.store.models import Delivery, PledgeMention, utcnow

log = logging.getLogger("pledgewatch.dispatch")

# One sender at a time within a process (the daemon's crawl and digest jobs run in threads);
# between processes the claim in the store does the same job.
_SEND_LOCK = threading.Lock()


@dataclass
class DispatchReport:
    """What one pass did; the daemon logs it and tests check it."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    skipped_empty: bool = False
    errors: list[str] = field(default_factory=list)
    # Deliveries closed without sending (their items vanished or were withdrawn).
    skipped: list[int] = field(default_factory=list)
    # Pledge mentions older than the alert age limit, recorded as not alerted.
    skipped_old: int = 0
    # Notes of deliveries sent although the server refused some recipients.
    refused: list[str] = field(default_factory=list)
    # Deliveries not tried because the server could not be reached earlier in the same pass:
    # still pending with their attempts unchanged, sent by the next run.
    deferred: list[int] = field(default_factory=list)

    def merge(self, other: DispatchReport) -> DispatchReport:
        self.sent += other.sent
        self.failed += other.failed
        self.created += other.created
        self.skipped += other.skipped
        self.skipped_old += other.skipped_old
        self.refused += other.refused
        self.deferred += other.deferred
        self.skipped_empty = self.skipped_empty or other.skipped_empty
        self.errors += other.errors
        return self

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.created:
            parts.append(f"{len(self.created)} new")
        if self.failed:
            parts.append(f"{len(self.failed)} failed (kept pending)")
        if self.deferred:
            parts.append(f"{len(self.deferred)} not tried (server unreachable, kept pending)")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (items gone)")
        if self.skipped_old:
            parts.append(f"{self.skipped_old} too old to alert")
        if self.skipped_empty:
            parts.append(
                "empty digest not sent (no new article about the watch list; [email] send_empty_digest)"
            )
        if self.refused:
            parts.append(f"{len(self.refused)} with recipients refused ({self.refused[-1]})")
        return ", ".join(parts)


class Dispatcher:
    """Alerts and digests for one configuration and one database."""

    def __init__(
        self,
        config: Config,
        session_factory: Callable[[], Session],
        mailer: Mailer | None = None,
        *,
        alert_max_age_days: int | None = None,
    ):
        self.config = config
        # Older pledge mentions are not alerted (0: no limit); `pledgewatch demo` previews the
        # alerts of its 2016-2021 sample web with no limit.
        self.alert_max_age_days = (
            config.email.alert_max_age_days if alert_max_age_days is None else alert_max_age_days
        )
        self.session_factory = session_factory
        self._mailer = mailer
        self.watchlist = Watchlist(config.watchlist)
        self.zone: tzinfo = ZoneInfo(config.schedule.timezone)
        # A claim older than this belongs to a process that died mid-send: send again.
        self.lease = timedelta(seconds=max(120.0, config.email.timeout * 4))
        # The batch (one SMTP connection) of the pass running in each thread: the daemon's jobs
        # run in threads and must not share a connection.
        self._local = threading.local()

    @property
    def mailer(self) -> Mailer:
        """The channels, checked on first use: previews need no recipients, sending does."""
        if self._mailer is None:
            self._mailer = Mailer(self.config.email)
        return self._mailer

    @contextmanager
    def sending(self) -> Iterator[MailBatch]:
        """One SMTP connection for every message sent inside (nested uses share it).

        Once connecting has failed in it, the deliveries still to go are left pending.
        """
        current: MailBatch | None = getattr(self._local, "batch", None)
        if current is not None:
            yield current
            return
        with self.mailer.batch() as batch:
            self._local.batch = batch
            try:
                yield batch
            finally:
                self._local.batch = None
                if batch.deferred:
                    # One line for the pass, not one per message left alone.
                    log.warning(
                        "mail server unreachable (%s): %d deliveries not tried, kept pending for "
                        "the next run",
                        batch.unreachable,
                        batch.deferred,
                    )

    def hang_up(self) -> None:
        """Close this thread's connection before a long pause (a crawl); the batch goes on."""
        current: MailBatch | None = getattr(self._local, "batch", None)
        if current is not None:
            current.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.session_factory() as session:
            yield session

    # -- composing ---------------------------------------------------------------------------

    def _too_old(self, mention: PledgeMention, now: datetime) -> bool:
        """Published before the alert age limit: history, not news (unknown dates are news).

        The date is that of the report the alert would name (a new pledge's first report), so a
        syndicated copy of old news crawled before its original is old news too.
        """
        if not self.alert_max_age_days:
            return False
        report = alert_report(mention)
        article = report.article
        published = report.published_at or (
            (article.published_at or article.fetched_at) if article is not None else None
        )
        return published is not None and published < now - timedelta(days=self.alert_max_age_days)

    def _alert_candidates(self, session: Session) -> tuple[list[PledgeMention], list[PledgeMention]]:
        """(mentions to alert, mentions too old to alert) among those no alert has carried yet."""
        now = utcnow()
        due: list[PledgeMention] = []
        old: list[PledgeMention] = []
        analyst = overrides.fresh_view(session)
        for mention in store.alert_candidates(session):
            if analyst.suppresses_alert(mention):
                continue  # the analyst said it is not a pledge (store/overrides.py): never alerted
            if self._too_old(mention, now):
                old.append(mention)
            elif is_alertable(mention, self.watchlist, self.config.email.alert_on):
                due.append(mention)
        return due, old

    def unsendable(self, session: Session, delivery: Delivery) -> str | None:
        """Why a delivery can never be sent (its alert's mention vanished or was withdrawn), or None."""
        if delivery.kind != store.ALERT:
            return None
        ids = [item.item_id for item in delivery.items if item.item_type == store.ITEM_MENTION]
        mentions = store.mentions_by_ids(session, ids)
        if len(mentions) != 1:
            return f"alert {delivery.id}: its pledge mention is no longer in the archive"
        if mentions[0].withdrawn_at is not None:
            return f"alert {delivery.id}: the article no longer states this pledge (edited)"
        if overrides.fresh_view(session).suppresses_alert(mentions[0]):
            return f"alert {delivery.id}: an analyst rejected this pledge (pledgewatch pledges reject)"
        return None

    def compose(self, session: Session, delivery: Delivery) -> ComposedMessage:
        """The message of a delivery, rendered from its items."""
        items = [(item.item_type, item.item_id) for item in delivery.items]
        if delivery.kind == store.HEALTH:
            return self._compose_health(session, [i for t, i in items if t == store.ITEM_CRAWL_RUN])
        if delivery.kind == store.ALERT:
            mentions = store.mentions_by_ids(session, [i for t, i in items if t == store.ITEM_MENTION])
            if len(mentions) != 1:
                raise SendError(f"alert {delivery.id}: its pledge mention is no longer in the archive")
            return self._compose_alert(mentions[0])
        article_ids = [i for t, i in items if t == store.ITEM_ARTICLE]
        edited = store.articles_of_versions(session, [i for t, i in items if t == store.ITEM_ARTICLE_VERSION])
        corrections = [i for t, i in items if t == store.ITEM_OVERRIDE]
        digest = self.build_digest(session, article_ids, edited, delivery.created_at, corrections)
        return self._render_digest(digest)

    def _compose_health(self, session: Session, run_ids: list[int]) -> ComposedMessage:
        run = crawlruns.get_run(session, run_ids[0]) if run_ids else None
        changes = changes_in_run(session, run) if run is not None else []
        if run is None or not changes:
            raise SendError(f"health notice for crawl run {run_ids}: the run or its changes are gone")
        return compose_health_notice(run, changes, self.zone)

    @property
    def health_recipients(self) -> list[str]:
        """Who hears of source health changes: ``[health] recipients``, else the alert recipients."""
        return list(self.config.health.recipients or self.config.email.recipients)

    def footer(self, watched: list[str]) -> Footer:
        """Why a message goes out and how to stop it, from this configuration."""
        path = self.config.path
        return Footer(
            config=str(path) if path is not None else "the configuration (built-in defaults, no file)",
            watched=tuple(watched),
            digest_schedule=self.config.schedule.digest,
            alert_on=self.config.email.alert_on,
            has_recipients=bool(self.config.email.recipients),
        )

    def _compose_alert(self, mention: PledgeMention) -> ComposedMessage:
        return compose_alert(mention, self.zone, self.footer(self.watchlist.match(mention.pledge.actor)))

    def _render_digest(self, digest: Digest) -> ComposedMessage:
        return render_digest(digest, self.footer(digest.watched))

    def build_digest(
        self,
        session: Session,
        article_ids: list[int],
        edited_ids: list[int] | None = None,
        now: datetime | None = None,
        override_ids: list[int] | None = None,
    ) -> Digest:
        """The digest of new articles plus articles edited since an earlier digest carried them,
        and the analyst's corrections of pledges already alerted (``override_ids``)."""
        new = set(article_ids)
        updated = {i for i in edited_ids or [] if i not in new}
        return build_digest(
            session,
            [*article_ids, *sorted(updated)],
            self.watchlist,
            self.zone,
            now,
            updated,
            override_ids=override_ids or [],
        )

    def _digest_candidates(self, session: Session) -> tuple[list[int], list[int], list[int]]:
        """(new article ids, edited article ids, version ids to record) for the next digest."""
        article_ids = [a.id for a in store.digest_candidates(session)]
        edits = store.digest_edit_candidates(session)
        # A new article's own edits go with it: that digest shows the article as edited already.
        version_ids = sorted({v.id for v in edits} | set(store.later_versions(session, article_ids)))
        return article_ids, sorted({v.article_id for v in edits}), version_ids

    def preview_digest(self) -> ComposedMessage:
        """The next digest as it would go out now, without recording or sending anything."""
        with self._session() as session:
            article_ids, edited_ids, _versions = self._digest_candidates(session)
            corrections = [row.id for row in store.digest_override_candidates(session)]
            return self._render_digest(
                self.build_digest(session, article_ids, edited_ids, override_ids=corrections)
            )

    def alerts_not_due(self) -> dict[str, int]:
        """Why new pledge mentions no alert has carried are not due, by reason, for the one line
        `alerts --dry-run` prints when nothing is due: ``too_old`` (``[email] alert_max_age_days``),
        ``not_watched`` (not on the watch list, with ``alert_on = "watchlist"``), ``rejected``
        (an analyst said it is not a pledge)."""
        counts = {"too_old": 0, "not_watched": 0, "rejected": 0}
        now = utcnow()
        with self._session() as session:
            analyst = overrides.fresh_view(session)
            for mention in store.alert_candidates(session):
                if analyst.suppresses_alert(mention):
                    counts["rejected"] += 1
                elif self._too_old(mention, now):
                    counts["too_old"] += 1
                elif not is_alertable(mention, self.watchlist, self.config.email.alert_on):
                    counts["not_watched"] += 1
        return counts

    def preview_alerts(self) -> list[ComposedMessage]:
        with self._session() as session:
            due, _old = self._alert_candidates(session)
            return [self._compose_alert(m) for m in due]

    def pending_alerts(self) -> list[tuple[Delivery, ComposedMessage | None]]:
        """Alerts recorded but not delivered yet (a failed send), with their message when it can
        still be rendered: `alerts --dry-run` lists them, since the next send starts with them."""
        with self._session() as session:
            found = []
            for delivery_id in store.retryable_deliveries(session, self.lease, store.ALERT):
                delivery = store.get_delivery(session, delivery_id)
                composed = None
                if self.unsendable(session, delivery) is None:
                    composed = self.compose(session, delivery)
                found.append((delivery, composed))
            return found

    # -- sending -----------------------------------------------------------------------------

    def _send_one(
        self,
        session: Session,
        delivery_id: int,
        report: DispatchReport,
        composed: ComposedMessage | None = None,
    ) -> None:
        """Claim, render (unless ``composed`` was rendered just now for this delivery) and send one."""
        batch = getattr(self._local, "batch", None)
        assert batch is not None, "sends happen inside Dispatcher.sending()"
        if batch.unreachable is not None:
            # Not claimed, so its attempts stay as they were: it was not tried this run.
            report.deferred.append(delivery_id)
            batch.deferred += 1
            return
        if not store.claim(session, delivery_id, self.lease):
            return  # another process is sending it
        delivery = store.get_delivery(session, delivery_id)
        reason = self.unsendable(session, delivery)
        if reason is not None:
            # Retrying cannot help: close it, so it is not owed (and retried) forever.
            store.mark_skipped(session, delivery_id, reason)
            log.warning("%s %d (%s) skipped: %s", delivery.kind, delivery_id, delivery.message_id, reason)
            report.skipped.append(delivery_id)
            return
        try:
            if composed is None:
                composed = self.compose(session, delivery)
            message = build_message(
                composed,
                sender=self.config.email.sender,
                sender_name=self.config.email.sender_name,
                recipients=delivery.recipients,
                message_id=delivery.message_id,
                date=delivery.created_at,
                kind=delivery.kind,
            )
            if delivery.kind == store.HEALTH:
                note = batch.send(
                    message,
                    composed,
                    smtp=bool(delivery.recipients),
                    apprise=self.config.health.channel == "all",
                )
            else:
                note = batch.send(message, composed)
        except SendError as exc:
            store.mark_failed_attempt(session, delivery_id, str(exc))
            log.warning(
                "%s %d (%s) not sent, attempt %d, kept pending: %s",
                delivery.kind,
                delivery_id,
                delivery.message_id,
                delivery.attempts,
                exc,
            )
            report.failed.append(delivery_id)
            report.errors.append(str(exc))
            return
        except Exception as exc:
            store.mark_failed_attempt(session, delivery_id, f"{exc.__class__.__name__}: {exc}")
            raise
        store.mark_sent(session, delivery_id, note)
        log.info("%s %d sent: %s %s", delivery.kind, delivery_id, delivery.message_id, composed.subject)
        report.sent.append(delivery_id)
        if note:
            # Sent to the others; retrying would not help (and would duplicate it for them), but
            # a mistyped address must not go unnoticed.
            log.warning("%s %d: %s (check email.recipients)", delivery.kind, delivery_id, note)
            report.refused.append(note)

    def retry_pending(self, kind: str | None = None) -> DispatchReport:
        """Send every delivery still owed (pending, or claimed by a process that died).

        Every send starts here, so a channel that cannot work (no recipients, Apprise missing) is
        reported before any work is looked for, even when nothing is due.
        """
        _ = self.mailer
        report = DispatchReport()
        with self.sending(), _SEND_LOCK, self._session() as session:
            for delivery_id in store.retryable_deliveries(session, self.lease, kind):
                self._send_one(session, delivery_id, report)
        return report

    def send_alerts(self) -> DispatchReport:
        """Retry pending alerts, then one alert per new or revised watch-list pledge mention."""
        with self.sending():
            return self._send_alerts()

    def _send_alerts(self) -> DispatchReport:
        report = self.retry_pending(store.ALERT)
        if not self.config.email.alerts:
            return report
        with _SEND_LOCK, self._session() as session:
            due, old = self._alert_candidates(session)
            if old:
                # Recorded once as skipped, so a backfill's history is neither mailed nor re-read.
                skipped = store.create_delivery(
                    session,
                    store.ALERT,
                    [(store.ITEM_MENTION, mention.id) for mention in old],
                    recipients=[],
                    subject=f"({len(old)} pledge mentions older than {self.alert_max_age_days} days, "
                    "not alerted)",
                    channel=self.mailer.channel,
                    status=store.SKIPPED,
                )
                if skipped is not None:
                    log.info(
                        "%d pledge mentions published more than %d days ago: not alerted ([email] "
                        "alert_max_age_days)",
                        len(old),
                        self.alert_max_age_days,
                    )
                    report.skipped_old += len(old)
            for mention in due:
                # Rendered once: the delivery records its subject and the same message is sent.
                composed = self._compose_alert(mention)
                delivery = store.create_delivery(
                    session,
                    store.ALERT,
                    [(store.ITEM_MENTION, mention.id)],
                    recipients=self.config.email.recipients,
                    subject=composed.subject,
                    channel=self.mailer.channel,
                )
                if delivery is None:
                    continue  # another process recorded it first and sends it
                report.created.append(delivery.id)
                self._send_one(session, delivery.id, report, composed)
        return report

    def send_digest(self) -> DispatchReport:
        """Retry pending digests, then the digest of every relevant article not yet sent."""
        with self.sending():
            return self._send_digest()

    def _send_digest(self) -> DispatchReport:
        report = self.retry_pending(store.DIGEST)
        with _SEND_LOCK, self._session() as session:
            article_ids, edited_ids, version_ids = self._digest_candidates(session)
            corrections = [row.id for row in store.digest_override_candidates(session)]
            nothing = not article_ids and not edited_ids and not corrections
            if nothing and (report.sent or report.failed or report.deferred):
                return report  # this slot went to a digest that was pending
            if nothing and not self.config.email.send_empty_digest:
                # Recorded, so that "is a digest due" counts this slot as done.
                store.create_delivery(
                    session,
                    store.DIGEST,
                    [],
                    recipients=[],
                    subject="(empty digest, not sent)",
                    channel=self.mailer.channel,
                    status=store.SKIPPED,
                )
                report.skipped_empty = True
                return report
            digest = self.build_digest(session, article_ids, edited_ids, override_ids=corrections)
            delivery = store.create_delivery(
                session,
                store.DIGEST,
                [(store.ITEM_ARTICLE, article_id) for article_id in article_ids]
                + [(store.ITEM_ARTICLE_VERSION, version_id) for version_id in version_ids]
                + [(store.ITEM_OVERRIDE, override_id) for override_id in corrections],
                recipients=self.config.email.recipients,
                subject=digest.subject,
                channel=self.mailer.channel,
            )
            if delivery is None:
                report.errors.append("another process is making the same digest")
                return report
            report.created.append(delivery.id)
            self._send_one(session, delivery.id, report)
        return report

    def send_health(self) -> DispatchReport:
        """One notice per crawl run in which a source's health changed (degraded, broken, recovered).

        Runs are looked at from the last one a notice was recorded for; a notice is recorded as a
        delivery before it is sent and retried like any other, so each change is told once.
        """
        report = DispatchReport()
        if not self.config.health.notify:
            return report
        with self.sending():
            report.merge(self.retry_pending(store.HEALTH))
            with _SEND_LOCK, self._session() as session:
                after = store.last_health_notice_run(session)
                for run in crawlruns.runs_with_health(session, after):
                    changes = changes_in_run(session, run)
                    if not changes:
                        continue
                    composed = compose_health_notice(run, changes, self.zone)
                    delivery = store.create_delivery(
                        session,
                        store.HEALTH,
                        [(store.ITEM_CRAWL_RUN, run.id)],
                        recipients=self.health_recipients,
                        subject=composed.subject,
                        channel=self.mailer.channel,
                    )
                    if delivery is None:
                        continue  # another process recorded it first and sends it
                    report.created.append(delivery.id)
                    self._send_one(session, delivery.id, report, composed)
        return report

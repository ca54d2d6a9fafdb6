"""Named facts about the archive (``archive_meta``): the detector version its texts were read with.

Why stored: after an upgrade, the pledges in the archive are the previous detector's answers;
`db upgrade` compares the version recorded here with the installed one and advises a rescan.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pledgewatch.store.models import ArchiveMeta, utcnow

DETECTOR_VERSION = "detector_version"
# Recorded by migration 0014 in an archive that already held articles: read by a detector older
# than the record itself.
BEFORE_RECORD = "before-0014"
_SEEN = "pledgewatch_detector_noted"


def get(session: Session, name: str) -> str | None:
    return session.scalar(select(ArchiveMeta.value).where(ArchiveMeta.name == name))


def put(session: Session, name: str, value: str) -> None:
    row = session.get(ArchiveMeta, name)
    if row is None:
        session.add(ArchiveMeta(name=name, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()


def note_detector(session: Session, version: str) -> None:
    """Record ``version`` as the archive's detector if none is recorded yet (a new archive being
    filled). Once per session, and no more once a database connection has seen one recorded: the
    crawl stores each article in a session of its own, and its every article must not pay a query.
    (A version written in this transaction does not mark the connection: it may be rolled back.)"""
    if session.info.get(_SEEN):
        return
    connection = session.connection()
    if connection.info.get(_SEEN):
        session.info[_SEEN] = True
        return
    if get(session, DETECTOR_VERSION) is None:
        put(session, DETECTOR_VERSION, version)
    else:
        connection.info[_SEEN] = True
    session.info[_SEEN] = True

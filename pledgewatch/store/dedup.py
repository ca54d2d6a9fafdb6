"""Near-duplicate and syndication detection with MinHash LSH whose buckets live in the database.

Why this shape:

* A text is reduced to its set of word 3-shingles (``SHINGLE_WORDS``); two texts are compared by the
  Jaccard similarity of those sets and by containment (the share of the smaller set found in the
  larger one, which catches a trimmed copy).
* Comparing a new article with every archived one would make each crawl slower as the archive
  grows. A MinHash signature (datasketch) of ``NUM_PERM`` values is cut into ``LSH_BANDS`` bands of
  ``LSH_ROWS`` values; each band is hashed into a short key and stored as a ``dedup_buckets`` row.
  Texts sharing any (band, key) are candidates; a lookup reads only the rows under the new text's
  keys (an index seek per band), so its cost stays flat with the archive size.
* Candidates are then verified on their stored texts (exact Jaccard and containment), so the
  thresholds act on exact similarities and LSH only decides which few rows to read.

The thresholds and the measurements behind them are in docs/dedup.md. Every SQL statement of the
dedup levels lives here; :mod:`pledgewatch.store.archive` makes the decisions.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from pledgewatch.importing import submodule_alone
from pledgewatch.store.models import Article, DedupBucket, Story

if TYPE_CHECKING:
    import numpy as np
    from datasketch import MinHash

# Word 3-shingles: one changed word breaks only three shingles (edits stay similar), while another
# press release from the same template (different place names and figures every few words) falls
# to J 0.18. Measured on tests/data/dedup_pairs (docs/dedup.md).
SHINGLE_WORDS = 3
# 32 bands of 4 rows: the (b, r) datasketch's MinHashLSH chooses for threshold 0.5 when a missed
# duplicate costs 9 times a needless candidate read (weights 0.1, 0.9). P(candidate) is 0.87 at
# J 0.5, 0.99 at J 0.6 and 0.9998 at J 0.7; 0.05 at J 0.2.
LSH_BANDS = 32
LSH_ROWS = 4
NUM_PERM = LSH_BANDS * LSH_ROWS
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"
# CRC-32 of each shingle: one C call, over ten times faster than datasketch's default SHA-1, and
# good enough as an input hash because the affine32 scheme first mixes it with the MurmurHash3
# finalizer. Stable across processes and Python versions (signatures are persisted).
MINHASH_HASH = zlib.crc32
# Hex digits of a band key (48 bits): a chance collision of two unrelated bands is ~1e-8 per band
# per lookup at a million articles, and a collision only costs one verified candidate.
BAND_KEY_HEX = 12

# Same outlet, different URL, J >= 0.8: the same article (furniture, byline, a re-cut headline);
# measured duplicates 0.92-0.96, the closest different story of one outlet 0.18.
DUPLICATE_JACCARD = 0.8
# Any two articles with J >= 0.5 (or a smaller one >= 80 % contained in a larger one) carry the
# same story; measured syndicated copy 0.88, rewrite of a press release 0.33, same-template
# different pledge 0.18, same pledge in another story (seeds 000/003) 0.02.
STORY_JACCARD = 0.5
STORY_CONTAINMENT = 0.8
# Texts with fewer words are not compared at all (an extraction that kept only a teaser, a
# "page not found"): identical stubs of different articles must not merge them.
MIN_WORDS = 50
# Bound on the candidates verified per lookup, so a pathological bucket cannot make one lookup slow.
MAX_CANDIDATES = 50

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (NFKC, so full-width digits and curly quotes do not count as changes)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str) -> set[str]:
    tokens = words(text)
    if len(tokens) < SHINGLE_WORDS:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def comparable(text: str) -> bool:
    """Whether ``text`` is long enough to be compared with others (see ``MIN_WORDS``)."""
    return len(words(text)) >= MIN_WORDS


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float

    @property
    def same_story(self) -> bool:
        return self.jaccard >= STORY_JACCARD or self.containment >= STORY_CONTAINMENT

    @property
    def duplicate(self) -> bool:
        """Near-identical: the same article when both come from one outlet."""
        return self.jaccard >= DUPLICATE_JACCARD


def similarity(a: set[str], b: set[str]) -> Similarity:
    if not a or not b:
        return Similarity(0.0, 0.0)
    common = len(a & b)
    return Similarity(common / len(a | b), common / min(len(a), len(b)))


def _minhash_class() -> type[MinHash]:
    """datasketch's MinHash, imported at the first signature, without the rest of datasketch.

    Importing the package imports every sketch it has, its LSH among them and with it SciPy and
    the Redis client: 0.6 s of CPU and 60 MB of resident memory in every process that stores
    (each of a crawl's store workers), for one class that needs only NumPy
    (:func:`pledgewatch.importing.submodule_alone`). Imported once, when the first signature is
    taken: the crawl's store threads take theirs at the same moment.
    """
    if not _minhash:
        module = submodule_alone("datasketch.minhash")
        _minhash[:] = [module.MinHash]
    return _minhash[0]


_minhash: list[type[MinHash]] = []


@lru_cache(maxsize=1)
def _template() -> MinHash:
    # Permutations are generated once and shared by every signature (they depend only on the seed).
    return _minhash_class()(
        num_perm=NUM_PERM, seed=MINHASH_SEED, scheme=MINHASH_SCHEME, hashfunc=MINHASH_HASH
    )


def _encoded(shingle_set: Iterable[str]) -> list[bytes]:
    return [s.encode("utf-8") for s in shingle_set]


def signature(shingle_set: Iterable[str]) -> np.ndarray:
    """The MinHash signature (uint32 values) of a shingle set."""
    template = _template()
    minhash = _minhash_class()(
        num_perm=NUM_PERM,
        seed=MINHASH_SEED,
        permutations=template.permutations,
        scheme=MINHASH_SCHEME,
        hashfunc=MINHASH_HASH,
    )
    minhash.update_batch(_encoded(shingle_set))
    return minhash.hashvalues.astype("<u4")


def signatures(shingle_sets: Iterable[Iterable[str]]) -> list[np.ndarray]:
    """Signatures of many shingle sets at once (datasketch's bulk path shares the permutations)."""
    minhashes = _minhash_class().bulk(
        (_encoded(s) for s in shingle_sets),
        num_perm=NUM_PERM,
        seed=MINHASH_SEED,
        scheme=MINHASH_SCHEME,
        hashfunc=MINHASH_HASH,
    )
    return [m.hashvalues.astype("<u4") for m in minhashes]


def pack(sig: np.ndarray) -> bytes:
    """``articles.fingerprint``: the signature as little-endian uint32s."""
    import numpy as np  # here, not at import: numpy costs ~0.15 s a process that stores nothing

    return np.asarray(sig, dtype="<u4").tobytes()


def unpack(fingerprint: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(fingerprint, dtype="<u4")


def band_keys(sig: np.ndarray) -> list[tuple[int, str]]:
    """The (band, key) pairs under which a signature is filed."""
    import numpy as np

    raw = np.asarray(sig, dtype="<u4")
    keys = []
    for band in range(LSH_BANDS):
        rows = raw[band * LSH_ROWS : (band + 1) * LSH_ROWS].tobytes()
        keys.append((band, hashlib.blake2b(rows, digest_size=8).hexdigest()[:BAND_KEY_HEX]))
    return keys


# --- the store -----------------------------------------------------------------------------------


def bucket_rows(article_id: int, sig: np.ndarray) -> list[dict[str, object]]:
    return [{"article_id": article_id, "band": band, "key": key} for band, key in band_keys(sig)]


def write_buckets(session: Session, article_id: int, sig: np.ndarray | None) -> None:
    """File an article's signature in the LSH buckets, replacing any earlier filing (None: unfile it)."""
    session.execute(delete(DedupBucket.__table__).where(DedupBucket.article_id == article_id))
    if sig is not None:
        session.execute(insert(DedupBucket.__table__), bucket_rows(article_id, sig))


@lru_cache(maxsize=1)
def _candidate_statement() -> Select[tuple[int]]:
    # Built once with one bound key per band: SQLAlchemy's compiled cache then serves every lookup.
    per_band = (
        and_(DedupBucket.band == band, DedupBucket.key == bindparam(f"key{band}"))
        for band in range(LSH_BANDS)
    )
    return select(DedupBucket.article_id).where(or_(*per_band)).limit(LSH_BANDS * MAX_CANDIDATES)


def candidate_ids(session: Session, sig: np.ndarray, exclude: int | None = None) -> list[int]:
    """Articles sharing at least one LSH bucket with ``sig``, most shared bands first.

    Reads only the bucket rows under the signature's own keys: one index seek on (band, key) per
    band (written as OR-ed equalities, which SQLite and PostgreSQL both turn into index seeks;
    SQLite may scan the table for a row-value IN). The row limit bounds the work of a hot bucket.
    """
    params = {f"key{band}": key for band, key in band_keys(sig)}
    found = session.scalars(_candidate_statement(), params)
    shared = Counter(article_id for article_id in found if article_id != exclude)
    ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))
    return [article_id for article_id, _count in ranked[:MAX_CANDIDATES]]


@dataclass(frozen=True)
class Match:
    """An archived article similar to a new text, with the exact similarity of the two."""

    article_id: int
    source_id: int
    story_id: int | None
    similarity: Similarity


def find_similar(
    session: Session, shingle_set: set[str], sig: np.ndarray, exclude: int | None = None
) -> list[Match]:
    """Archived articles that carry the same story as a text with these shingles, best first.

    LSH picks the candidates; each is verified on its stored text, so only those at or above the
    story thresholds come back.
    """
    return verify(session, shingle_set, candidate_ids(session, sig, exclude))


def verify(session: Session, shingle_set: set[str], ids: Sequence[int]) -> list[Match]:
    """The candidates whose stored text really is similar enough (exact Jaccard/containment)."""
    if not ids:
        return []
    rows = session.execute(
        select(Article.id, Article.source_id, Article.story_id, Article.text).where(Article.id.in_(ids))
    )
    matches = []
    for article_id, source_id, story_id, text in rows:
        sim = similarity(shingle_set, shingles(text))
        if sim.same_story:
            matches.append(Match(article_id, source_id, story_id, sim))
    matches.sort(key=lambda m: (-m.similarity.jaccard, -m.similarity.containment, m.article_id))
    return matches


def find_exact_copy(session: Session, source_id: int, digest: str) -> Article | None:
    """The article of this outlet whose normalised text has this hash (the oldest, if several).

    Asked by the hash alone, the outlet picked here: with both in the WHERE clause SQLite (no
    statistics) read the outlet's index, every article of the outlet (9.5 ms at 10,000 articles,
    a tenth of the store's time, growing with the archive), where the hash's index finds the few
    copies of one text at once (8 µs).
    """
    rows = session.execute(
        select(Article.id, Article.source_id).where(Article.content_hash == digest).order_by(Article.id)
    ).all()
    for article_id, copy_source in rows:
        if copy_source == source_id:
            return session.get(Article, article_id)
    return None


def story_for(session: Session, matches: Sequence[Match]) -> Story:
    """The story a new article joins: its closest match's (created for it if it has none), or a new one."""
    for match in matches:
        if match.story_id is not None:
            return session.get_one(Story, match.story_id)
    story = Story()
    session.add(story)
    session.flush()
    if matches:
        session.get_one(Article, matches[0].article_id).story_id = story.id
    return story


def refile(session: Session, batch: int = 1000) -> int:
    """Recompute every article's fingerprint and LSH buckets (after a change of the LSH parameters).

    Works in id order and commits per batch, so an interrupted run loses at most one batch of work
    and can simply be started again. Returns the number of articles filed.
    """
    filed, last_id = 0, 0
    while True:
        rows = session.execute(
            select(Article.id, Article.text).where(Article.id > last_id).order_by(Article.id).limit(batch)
        ).all()
        if not rows:
            return filed
        comparable_rows = [(article_id, body) for article_id, body in rows if comparable(body)]
        sigs = signatures(shingles(body) for _id, body in comparable_rows)
        filed_sigs = dict(zip((article_id for article_id, _ in comparable_rows), sigs, strict=True))
        ids = [article_id for article_id, _ in rows]
        session.execute(delete(DedupBucket.__table__).where(DedupBucket.article_id.in_(ids)))
        for article_id in ids:
            sig = filed_sigs.get(article_id)
            session.execute(
                update(Article.__table__)
                .where(Article.id == article_id)
                .values(fingerprint=pack(sig) if sig is not None else None)
            )
        bucket_list = [row for article_id, sig in filed_sigs.items() for row in bucket_rows(article_id, sig)]
        if bucket_list:
            session.execute(insert(DedupBucket.__table__), bucket_list)
        session.commit()
        filed += len(filed_sigs)
        last_id = ids[-1]

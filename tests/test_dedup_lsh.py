"""The LSH index itself: signatures survive a restart, and a lookup reads only its own buckets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers_dedup import open_session, record, text

from pledgewatch.store import dedup
from pledgewatch.store.archive import save_article


@pytest.mark.slow
def test_signatures_are_the_same_in_another_process():
    """Fingerprints are persisted: a new process (other hash seed) must compute the same ones."""
    body = text("cd_001.txt")
    here = dedup.pack(dedup.signature(dedup.shingles(body))).hex()
    code = (
        "import sys; from pledgewatch.store import dedup; "
        "print(dedup.pack(dedup.signature(dedup.shingles(sys.stdin.read()))).hex())"
    )
    there = subprocess.run(
        [sys.executable, "-c", code],
        input=body,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert there == here
    assert (
        dedup.signatures([dedup.shingles(body)])[0].tobytes() == dedup.unpack(bytes.fromhex(here)).tobytes()
    )


def test_a_stored_fingerprint_is_the_texts_signature(db_url):
    for session in open_session(db_url):
        article = save_article(session, record("chinadaily", text("cd_001.txt"), 1), []).article
        session.commit()
        stored = dedup.unpack(article.fingerprint)
        assert len(stored) == dedup.NUM_PERM
        assert (stored == dedup.signature(dedup.shingles(text("cd_001.txt")))).all()


def test_lookup_seeks_the_band_index_instead_of_scanning(db_url):
    """The flat lookup cost rests on this plan: index seeks on (band, key), never a table scan."""
    for session in open_session(db_url):
        save_article(session, record("chinadaily", text("cd_001.txt"), 1), [])
        session.commit()
        connection = session.connection()
        params = {f"key{band}": key for band, key in dedup.band_keys(dedup.signature({"a b c"}))}
        sql = str(
            dedup._candidate_statement()
            .params(**params)
            .compile(connection, compile_kwargs={"literal_binds": True})
        )
        if connection.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING INDEX ix_dedup_buckets_band_key (band=? AND key=?)" in plan
            assert "SCAN dedup_buckets" not in plan
        else:
            # A tiny table: ask whether an index path exists at all, as it is taken on a large one.
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "ix_dedup_buckets_band_key" in plan
            assert "Seq Scan" not in plan


def test_the_first_signature_imports_minhash_alone_and_datasketch_still_imports_whole() -> None:
    """A store process loads only datasketch's MinHash (not SciPy): 60 MB less in each of a crawl's
    store workers. Whatever imports datasketch later still gets the whole package, all of it
    consistent, and the same signatures."""
    script = (
        "import sys, json\n"
        "from pledgewatch.store import dedup\n"
        "light = [int(v) for v in dedup.signature({'jd will invest', 'will invest rmb'})[:4]]\n"
        "heavy_loaded = 'scipy' in sys.modules\n"
        "import datasketch\n"
        "same = datasketch.minhash.MinHash is datasketch.MinHash\n"
        "m = datasketch.MinHash(num_perm=dedup.NUM_PERM, seed=dedup.MINHASH_SEED,"
        " scheme=dedup.MINHASH_SCHEME, hashfunc=dedup.MINHASH_HASH)\n"
        "m.update_batch([b'jd will invest', b'will invest rmb'])\n"
        "whole = [int(v) for v in m.hashvalues[:4]]\n"
        "print(json.dumps([light, heavy_loaded, same, whole, hasattr(datasketch, 'MinHashLSH')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    light, heavy_loaded, same, whole, has_lsh = json.loads(out.stdout)
    assert not heavy_loaded, "the first signature imported the whole of datasketch (SciPy with it)"
    assert same and has_lsh
    assert light == whole


def test_store_threads_taking_their_first_signatures_at_once_all_get_one() -> None:
    """The crawl's store threads (``[crawl] store_process = false``) sign their first articles at
    the same moment; none may fail to import MinHash (18 of 1,000 articles once did)."""
    script = (
        "import threading, json\n"
        "from pledgewatch.store import dedup\n"
        "barrier = threading.Barrier(8)\n"
        "results = []\n"
        "def sign():\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        results.append(int(dedup.signature({'jd will invest'})[0]))\n"
        "    except Exception as exc:\n"
        "        results.append(repr(exc))\n"
        "threads = [threading.Thread(target=sign) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(json.dumps(results))\n"
    )
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        results = json.loads(out.stdout)
        assert len(results) == 8 and len(set(results)) == 1 and isinstance(results[0], int), results

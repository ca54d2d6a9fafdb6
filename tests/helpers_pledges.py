"""Shared helpers for the pledge tests: the seed articles' bodies as the extractor sees them.

The bodies (title, byline and page furniture left out) are kept in the evaluation set
(tests/data/pledges_eval.jsonl, items noted "seed NNN"), so the tests need no file outside the
repository.
"""

from __future__ import annotations

import json
from functools import cache

from conftest import DATA_DIR

EVAL_PATH = DATA_DIR / "pledges_eval.jsonl"


@cache
def eval_items() -> list[dict]:
    return [json.loads(line) for line in EVAL_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_item(key: str) -> dict:
    for item in eval_items():
        if item["note"].startswith(f"seed {key}"):
            return item
    raise KeyError(key)


def seed_body(key: str) -> str:
    return seed_item(key)["text"]

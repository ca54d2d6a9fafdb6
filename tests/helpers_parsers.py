"""Loading the per-publisher fixture directories (tests/data/publishers/<name>/ and .../extra/<case>/)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

PUBLISHERS_DIR = Path(__file__).resolve().parent / "data" / "publishers"
# The five seed articles, vendored with their provenance (tests/data/seeds/README.md).
SEEDS_DIR = Path(__file__).resolve().parent / "data" / "seeds"

# Text the seed pages carry around the article (see tests/data/seeds/README.md): none of it is body.
NOISE_MARKERS = (
    "Recent posts",
    "Trusted by Top Global Brands",
    "Discover JD.com brand partners",
    "Newspapers in English",
    "Newspapers from Hong Kong",
    "Web editor",
    "Related stories",
    "Related Links",
    "@jd.com",
    "@chinadaily.com.cn",
    "@peopledaily",
    "??",
    "| China Daily |",
    "Updated:",
    "Leave a Reply",
    "Share this",
    "figcaption",
    "Copyright",
)


def fixture_dirs(kind: str) -> list[Path]:
    """Every fixture directory holding a ``kind`` file (article.html, listing.html, feed.xml)."""
    dirs = sorted(p.parent for p in PUBLISHERS_DIR.glob(f"*/{kind}"))
    dirs += sorted(p.parent for p in PUBLISHERS_DIR.glob(f"*/extra/*/{kind}"))
    return dirs


def fixture_id(path: Path) -> str:
    return str(path.relative_to(PUBLISHERS_DIR))


def load_expected(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def expected_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def first(mapping: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """The first key present: fixture files from different writers name a field slightly differently."""
    for key in keys:
        if key in mapping:
            return mapping[key]
    return default


def seed_path(name: str) -> Path:
    """One of the five seed texts, vendored in tests/data/seeds (never skipped: they ship with the tests)."""
    return SEEDS_DIR / name

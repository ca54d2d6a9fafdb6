"""Loading the per-publisher fixture directories (tests/data/publishers/<name>/ and .../extra/<case>/)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

PUBLISHERS_DIR = Path(__file__).resolve().parent / "data" / "publishers"
_SEED_CANDIDATES = (
    Path(__file__).resolve().parent / "data" / "seeds",
    Path(__file__).resolve().parents[2] / "shared" / "seeds",  # a checkout at /work/<name>
    Path(__file__).resolve().parents[3] / "shared" / "seeds",  # a worktree at /work/wt/<name>
)

# Text the seed pages carry around the article (see /work/shared/seeds/README.md): none of it is body.
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
    """One of the five seed texts (README in the seeds folder); skips where the seeds are not shipped."""
    import pytest

    for folder in _SEED_CANDIDATES:
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"seed text {name} not found in {', '.join(map(str, _SEED_CANDIDATES))}")

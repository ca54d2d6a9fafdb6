"""The pledge detector's version: what `db upgrade` compares with the archive's to advise a rescan.

Why a digest of the detector's own files and not the package version: a release that changes
nothing in detection needs no rescan, and a development install that changes a word list does.
The archive records the version that read its texts (store/meta.py); a different one here means
its pledges are the old detector's answers until `pledgewatch rescan` reads them again.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_PARTS = {".py", ".json"}


@cache
def detector_version() -> str:
    """``"d-"`` and 12 hex digits of the detector's code and data files (stable across installs)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _PARTS):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return f"d-{digest.hexdigest()[:12]}"

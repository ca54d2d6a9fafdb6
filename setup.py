"""The one compiled part: pw_bm25, FTS5 ranking without a walk over every match (see
pledgewatch/store/_fts5rank.c). Optional: where it cannot be built (no C compiler, no SQLite
headers), pledgewatch installs without it and search ranks with FTS5's own bm25()."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pledgewatch.store._fts5rank",
            sources=["pledgewatch/store/_fts5rank.c"],
            libraries=["sqlite3"],
            optional=True,
        )
    ]
)

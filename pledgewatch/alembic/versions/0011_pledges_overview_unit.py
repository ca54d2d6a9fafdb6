"""pledges_overview says each pledge's unit, so that totals group by it and never add jobs to yuan

Revision ID: 0011
Revises: 0008

A monetary pledge has a currency and no unit ("RMB 6 bn": currency CNY), a count a unit and no
currency ("9,000 jobs": unit jobs). A total grouped by currency alone added every count together
(Datasette's canned query "Pledge totals by region and currency" summed 6 parks and 5,000 jobs to
5,006). The view now has ``unit``: the currency code of a monetary pledge, else the counted unit,
else ``(no unit)``, the one column every total groups by (the shipped canned queries do, and
store/aggregates.py follows the same rule). Appended as the last column: queries that select
columns by name or position keep working.

Views only: nothing is copied, and the downgrade restores 0007's definition.
"""

from __future__ import annotations

from types import ModuleType

from alembic import op

from pledgewatch.store import db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _revision_0007() -> ModuleType:
    """Migration 0007's module: its view is extended here and restored from there (one copy)."""
    return db.migration_module("0007")


UNIT_COLUMN = "COALESCE(NULLIF(UPPER(p.currency), ''), NULLIF(p.amount_unit, ''), '(no unit)') AS unit"


def pledges_overview() -> str:
    """0007's ``pledges_overview`` with ``unit`` appended after ``created_at``."""
    sql: str = _revision_0007().PLEDGES_OVERVIEW
    marker = "    p.created_at\nFROM pledges p"
    if marker not in sql:  # 0007's text is the contract this migration extends
        raise RuntimeError("migration 0007's pledges_overview changed: update migration 0011")
    return sql.replace(marker, f"    p.created_at,\n    {UNIT_COLUMN}\nFROM pledges p")


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS pledges_overview")
    op.execute(pledges_overview())


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS pledges_overview")
    op.execute(_revision_0007().PLEDGES_OVERVIEW)

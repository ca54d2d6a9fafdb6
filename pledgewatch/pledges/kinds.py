"""Kinds of pledge (invest, jobs, train, poverty, donate, build, emissions, other).

The kinds are a registry (``data/kinds.json``): a kind decided by its counted unit and the words
of its clause is one entry there. Money and hiring are decided by the verb rules below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pledgewatch.pledges._data import load

if TYPE_CHECKING:
    from pledgewatch.pledges.quantities import Quantity

_REGISTRY = load("kinds")
KINDS: tuple[str, ...] = tuple(entry["name"] for entry in _REGISTRY["kinds"])
_BY_NAME = {entry["name"]: entry for entry in _REGISTRY["kinds"]}
# (kind, units or None for any, clause pattern), in the order they are tried.
_KIND_RULES: list[tuple[str, frozenset[str] | None, re.Pattern[str]]] = [
    (
        name,
        frozenset(_BY_NAME[name]["units"]) if "units" in _BY_NAME[name] else None,
        re.compile(_BY_NAME[name]["clause"], re.IGNORECASE),
    )
    for name in _REGISTRY["rule_order"]
]
_TRAIN_RE = next(pattern for name, _, pattern in _KIND_RULES if name == "train")
_DONATE_RE = re.compile(
    r"\bdonat\w*|\bcontribut\w*|\bcharit\w*|\brelief\b|\bgift\w*|\bgive\b|\bgiving\b|\bpublic\s+welfare\b|"
    r"\bin\s+aid\b|\bscholarship",
    re.IGNORECASE,
)
# Money a company promises to move through its platform (sales, purchases) is not an investment.
_TRADE_RE = re.compile(
    r"\b(?:sell|sales|purchas\w*|procure\w*|buy|source|worth\s+of|orders|consumption\s+vouchers|coupons)\b",
    re.IGNORECASE,
)
_JOBS_VERB_RE = re.compile(
    r"\b(?:hire|hiring|recruit\w*|employ\w*|jobs?|workforce|headcount)\b", re.IGNORECASE
)
_DONATE_VERB_RE = re.compile(
    r"\b(?:donat\w*|contribut\w*|give|giving|gives|grant|provide\s+relief)\b", re.IGNORECASE
)


def _kind(quantity: Quantity, clause: str, window: str, after: str, donor: bool = False) -> str:
    """The kind of pledge, from the counted unit and the verbs around the quantity.

    ``window`` runs from the commitment cue to the quantity ("will invest"), ``after`` is what
    follows the quantity ("... in donations"), ``clause`` the whole clause of the quantity.
    """
    # Imported here: the CLI's help lists KINDS, and must not compile the cues to do so.
    from pledgewatch.pledges.cues import _INVEST_VERB_RE

    if quantity.unit == "jobs":
        return "jobs"
    if quantity.currency:
        if _DONATE_VERB_RE.search(window):
            return "donate"
        if _TRADE_RE.search(window) or re.match(
            r"\s*(?:worth\s+of|of\s+(?:goods|products|coupons)|in\s+(?:[\w-]+\s+)?(?:vouchers|coupons|discounts))",
            after,
        ):
            return "other"
        verbs = [(m.start(), "donate") for m in _DONATE_VERB_RE.finditer(window)]
        verbs += [(m.start(), "invest") for m in _INVEST_VERB_RE.finditer(window)]
        if verbs:
            return max(verbs)[1] if not donor else "donate"
        if donor or _DONATE_RE.search(after):
            return "donate"
        return "invest"
    if _DONATE_VERB_RE.search(window) and quantity.unit != "percent":
        # "contributing green energy to 85 percent of its parks" is a share, not a gift.
        return "donate"
    if (
        quantity.unit in ("workers", "people", "students")
        and _JOBS_VERB_RE.search(clause)
        and not _TRAIN_RE.search(clause)
    ):
        return "jobs"
    for kind, units, pattern in _KIND_RULES:
        if units is not None and quantity.unit not in units:
            continue
        if pattern.search(clause):
            return kind
    return "other"

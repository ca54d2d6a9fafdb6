"""Pledge detection: pure NLP over plain text, no I/O, no database.

The package's public interface is what this module exports; the store, ingest and the CLI import
from here, so the concepts inside (sentences, quantities, cues, actors, horizons, kinds, regions)
can be reorganised without touching their callers. Word lists and tables are data files in
``pledgewatch/pledges/data/``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pledgewatch.pledges.actors import KNOWN_COMPANIES, ActorResolver, AliasMatcher
    from pledgewatch.pledges.extract import STOPWORDS, PledgeCandidate, extract_pledges, purpose_words
    from pledgewatch.pledges.horizons import NUMBER_WORDS
    from pledgewatch.pledges.kinds import KINDS
    from pledgewatch.pledges.quantities import (
        COMPARABLE_PERSON_UNITS,
        PERSON_UNITS,
        UNITS,
        Quantity,
        find_quantities,
    )
    from pledgewatch.pledges.regions import find_regions, join_regions, split_regions
    from pledgewatch.pledges.sentences import Sentence, split_sentences

# Where each export lives. The names load on first use (PEP 562): a crawl that finds nothing new
# needs only the watchlist's actor matcher, and importing the whole detector (hundreds of compiled
# patterns) cost every such run about 50 ms of its start-up (issue 15).
_EXPORTS = {
    "ActorResolver": "pledgewatch.pledges.actors",
    "AliasMatcher": "pledgewatch.pledges.actors",
    "COMPARABLE_PERSON_UNITS": "pledgewatch.pledges.quantities",
    "KINDS": "pledgewatch.pledges.kinds",
    "KNOWN_COMPANIES": "pledgewatch.pledges.actors",
    "NUMBER_WORDS": "pledgewatch.pledges.horizons",
    "PERSON_UNITS": "pledgewatch.pledges.quantities",
    "PledgeCandidate": "pledgewatch.pledges.extract",
    "Quantity": "pledgewatch.pledges.quantities",
    "STOPWORDS": "pledgewatch.pledges.extract",
    "Sentence": "pledgewatch.pledges.sentences",
    "UNITS": "pledgewatch.pledges.quantities",
    "extract_pledges": "pledgewatch.pledges.extract",
    "find_quantities": "pledgewatch.pledges.quantities",
    "find_regions": "pledgewatch.pledges.regions",
    "join_regions": "pledgewatch.pledges.regions",
    "purpose_words": "pledgewatch.pledges.extract",
    "split_regions": "pledgewatch.pledges.regions",
    "split_sentences": "pledgewatch.pledges.sentences",
}

__all__ = [
    "COMPARABLE_PERSON_UNITS",
    "KINDS",
    "KNOWN_COMPANIES",
    "NUMBER_WORDS",
    "PERSON_UNITS",
    "STOPWORDS",
    "UNITS",
    "ActorResolver",
    "AliasMatcher",
    "PledgeCandidate",
    "Quantity",
    "Sentence",
    "extract_pledges",
    "find_quantities",
    "find_regions",
    "join_regions",
    "purpose_words",
    "split_regions",
    "split_sentences",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

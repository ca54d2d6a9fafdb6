"""Pledge detection: pure NLP over plain text, no I/O, no database.

The package's public interface is what this module exports; the store, ingest and the CLI import
from here, so the concepts inside (sentences, quantities, cues, actors, horizons, kinds, regions)
can be reorganised without touching their callers. Word lists and tables are data files in
``pledgewatch/pledges/data/``.
"""

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

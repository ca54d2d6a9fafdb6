"""Pledge detection: pure NLP over plain text, no I/O, no database.

The package's public interface is what this module exports; the store, ingest and the CLI import
from here, so the concepts inside (sentences, quantities, cues, actors, horizons, kinds, regions)
can be reorganised without touching their callers.
"""

from pledgewatch.pledges.extract import (
    KINDS,
    NUMBER_WORDS,
    PERSON_UNITS,
    ActorResolver,
    PledgeCandidate,
    Quantity,
    Sentence,
    extract_pledges,
    find_quantities,
    purpose_words,
    split_sentences,
)
from pledgewatch.pledges.regions import find_regions, join_regions, split_regions

__all__ = [
    "KINDS",
    "NUMBER_WORDS",
    "PERSON_UNITS",
    "ActorResolver",
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

"""Telling the analyst: alerts, digests, the Atom feed, their rendering and the channels that carry them."""

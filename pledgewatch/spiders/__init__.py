"""One spider module per publisher; each declares its sources as data."""

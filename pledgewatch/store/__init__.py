"""The archive: models, sessions, deduplication and queries. Every SQL statement lives here."""

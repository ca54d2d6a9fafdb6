"""Errors a user can act on. The CLI prints them as one line, never a traceback."""

from __future__ import annotations


class PledgewatchError(Exception):
    """Base class: the message is written for the user, and ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigError(PledgewatchError):
    exit_code = 2


class UsageError(PledgewatchError):
    """Bad input on the command line or in an input file."""

    exit_code = 2


class SchemaError(PledgewatchError):
    """The database is not at the revision this code expects."""

    exit_code = 1

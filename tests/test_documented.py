"""Nothing a user can type or configure is undocumented: every command, every long option and every
configuration key is named in the README, docs/ or the example configuration.

A new command or key without its documentation fails here, as Datasette's suite fails on an
undocumented plugin hook or setting.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

import click
import typer.main

from pledgewatch.cli.app import app
from pledgewatch.config import Config

ROOT = Path(__file__).resolve().parent.parent


def _documentation() -> str:
    parts = [ROOT / "README.md", ROOT / "pledgewatch.example.toml", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in parts)


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def _section_models(model: type) -> Iterator[tuple[str, type]]:
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        candidates += [inner for c in candidates for inner in typing.get_args(c)]
        for candidate in candidates:
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                yield name, candidate
                break


def test_every_command_and_option_is_documented():
    docs = _documentation()
    missing = []
    for name, command in _commands(typer.main.get_command(app)):
        if name and command.hidden is not True and f"pledgewatch {name}" not in docs:
            missing.append(f"command `pledgewatch {name}`")
        for param in command.params:
            missing += [
                f"option {opt} of `pledgewatch {name}`".replace("  ", " ")
                for opt in param.opts
                if opt.startswith("--") and opt not in docs
            ]
    assert missing == []


def test_every_configuration_key_is_documented():
    docs = _documentation()
    missing = [
        f"[{section}] {key}"
        for section, model in _section_models(Config)
        for key in model.model_fields  # type: ignore[attr-defined]
        if not re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", docs)
    ]
    assert missing == []
    assert len(list(_section_models(Config))) >= 5, "the configuration's sections were not found"

"""A migration step written once per backend, where SQLite and PostgreSQL cannot share a statement."""

from typing import NamedTuple


class Dialects(NamedTuple):
    """One migration step, written for each backend."""

    sqlite: list[str]
    postgresql: list[str]


def statements_for(dialect: str, steps: list[str | Dialects]) -> list[str]:
    """The statements of one version for `dialect` (`sqlite` or `postgresql`), in order."""
    statements: list[str] = []
    for step in steps:
        statements.extend(getattr(step, dialect) if isinstance(step, Dialects) else [step])
    return statements

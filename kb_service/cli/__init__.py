"""`frontdesk`: a thin command line over the same library the service uses. Each module adds its commands to
the group in `cli/base.py`."""

from __future__ import annotations

import sys

import click

from kb_service.cli import knowledge, quality, service, stats, supervisors
from kb_service.cli.base import main
from kb_service.cli.service import server_options
from kb_service.errors import DomainError

__all__ = ["main", "run", "server_options", "knowledge", "quality", "service", "stats", "supervisors"]


def run() -> None:
    try:
        main(standalone_mode=True)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    run()

"""`frontdesk supervisors add NAME` and `frontdesk supervisors list`: the people who sign in to the console."""

from __future__ import annotations

import click

from kb_service.cli.base import main, settings_or_exit
from kb_service.desk import supervisors as named
from kb_service.errors import DomainError
from kb_service.storage.backends import open_store


@main.group()
def supervisors() -> None:
    """Named supervisors: each signs in to the console as themselves, and History shows who answered.

    Safe while the service runs: a new supervisor can sign in at once.

    \b
    Example:
        frontdesk supervisors add Maria
        frontdesk supervisors list
    """


@supervisors.command("add")
@click.argument("name")
def add(name: str) -> None:
    """Add a supervisor and print their password (shown once; kept only as a hash).

    They sign in to the console with NAME and that password. The shared token keeps working for API clients and
    the console user `supervisor`. Safe while the service runs.

    \b
    Example:
        frontdesk supervisors add Maria
    """
    store = open_store(settings_or_exit())
    try:
        kept, password = named.add(store, name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        store.close()
    click.echo(f"Added supervisor {kept}. Their console sign-in: user {kept}, password {password}")
    click.echo("The password is shown only now: pass it on to them.")


@supervisors.command("list")
def listed() -> None:
    """The named supervisors, by name. Safe while the service runs.

    \b
    Example:
        frontdesk supervisors list
    """
    store = open_store(settings_or_exit())
    try:
        found = named.names(store)
    finally:
        store.close()
    click.echo("\n".join(found) if found else "no named supervisors yet (frontdesk supervisors add NAME)")

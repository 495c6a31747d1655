"""`frontdesk serve` and `migrate`: running the service and preparing its database."""

from __future__ import annotations

import logging
import sys

import click

from kb_service.cli.base import main, settings_or_exit
from kb_service.config import Settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--access-log", is_flag=True, help="Log every HTTP request (off: the console's polling is noise).")
def serve(host: str, port: int, access_log: bool) -> None:
    """Start the service: API, call page and supervisor console.

    \b
    Example:
        frontdesk serve
        frontdesk serve --host 0.0.0.0 --port 8000
    """
    from kb_service.ops import logs

    logs.configure(logging.INFO, access_log)  # first: one JSON line per event, phone numbers masked, no progress bars
    import uvicorn

    from kb_service.api.app import create_app
    from kb_service.auth import load_or_create_token

    settings = settings_or_exit()
    raise_open_file_limit()
    require_migrated(settings)
    token, generated = load_or_create_token(settings)
    base = f"http://{host}:{port}"
    click.echo(f"Call page:          {base}/")
    click.echo(f"Supervisor console: {base}/supervisor  (user: supervisor)")
    click.echo(f"API docs:           {base}/docs")
    if settings.supervisor_token:
        click.echo("Supervisor token:   the value of KB_SUPERVISOR_TOKEN (the console password)")
    elif generated or sys.stdout.isatty():
        kept = "generated now and kept" if generated else "kept"
        click.echo(f"Supervisor token:   {token}  ({kept} in {settings.token_path}; the console password)")
    else:  # output going to a log: a token it did not just generate stays out of it
        click.echo(f"Supervisor token:   kept in {settings.token_path} (not shown), the console password")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        access_log=access_log,  # log_level alone would turn uvicorn's access lines back on
        **server_options(settings),
    )


def require_migrated(settings: Settings) -> None:
    """SQLite migrates itself on open; PostgreSQL must have had `frontdesk migrate` (Unmigrated otherwise)."""
    from kb_service.storage.backends import open_store

    open_store(settings).close()


@main.command()
def migrate() -> None:
    """Apply the database migrations this version needs (PostgreSQL: before the first `serve`).

    Safe while the service runs: each migration is one transaction, and two at once apply it once. SQLite
    needs no step (`frontdesk serve` migrates its file itself). With KB_DATABASE_URL set, it migrates that
    PostgreSQL database.

    \b
    Example:
        frontdesk migrate
    """
    from kb_service.storage.backends import open_store

    store = open_store(settings_or_exit(), migrate=False)
    try:
        applied = store.migrate()
    finally:
        store.close()
    done = f"applied {', '.join(map(str, applied))}" if applied else "nothing to apply"
    click.echo(f"{store.name}: {done}; the schema is current")


def raise_open_file_limit() -> None:
    """Every connection takes a file descriptor: the soft limit (often 1,024) raised to the hard one, so a
    flood meets KB_MAX_CONNECTIONS_PER_IP long before the process runs out of descriptors."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an unlimited hard limit is not a valid soft one: keep what we have
            return
        logging.getLogger("frontdesk").info("open-file limit raised from %d to %d", soft, hard)


def server_options(settings: Settings) -> dict:
    """uvicorn options for `serve`: whom to believe about client addresses, and the slow-client timeouts."""
    from kb_service.api.middleware.header_timeout import HeaderTimeoutProtocol

    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {
        # X-Forwarded-For only from KB_TRUSTED_PROXIES: uvicorn believes any loopback client by default, so a
        # local process could pick its own address and dodge the per-client limits.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
        "http": HeaderTimeoutProtocol.configured(settings.max_connections_per_ip, proxies),
        # Open event streams (call pages, consoles) would hold a graceful shutdown forever: cut them after a second.
        "timeout_graceful_shutdown": 1,
    }

"""`open_store(settings)`: the backend the settings name."""

from __future__ import annotations

from kb_service.config import Settings
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store


def open_store(settings: Settings, migrate: bool | None = None) -> Store:
    """SQLite in KB_DATA_DIR, migrated on open (one embedded process: a `make run` needs no step), or the
    PostgreSQL of KB_DATABASE_URL, which must already be migrated (`frontdesk migrate`: Unmigrated otherwise);
    `migrate=True` migrates it, `False` opens it as it is."""
    if settings.database_url:
        # psycopg is an optional dependency, imported only when PostgreSQL is configured.
        from kb_service.storage.postgres import PostgresStore

        store = PostgresStore(settings.database_url, migrate=bool(migrate))
        if migrate is None:
            try:
                store.require_migrated()
            except Exception:
                store.close()
                raise
        return store
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SqliteStore(settings.db_path, migrate=migrate is not False)

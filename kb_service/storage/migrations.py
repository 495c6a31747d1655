"""Versioned schema. Append new versions; never edit one that has shipped."""

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE meta (key TEXT PRIMARY KEY, value)""",
            """INSERT INTO meta VALUES ('knowledge_version', 0)""",
            """CREATE TABLE knowledge_entries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                answer TEXT NOT NULL,
                hit_count INTEGER NOT NULL DEFAULT 0,
                last_used_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            # Phrasings are immutable: an edit deletes and inserts, so an id always means one text and vector.
            """CREATE TABLE phrasings (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                knowledge_id INTEGER NOT NULL REFERENCES knowledge_entries(id) ON DELETE CASCADE,
                question TEXT NOT NULL,
                embedding BLOB NOT NULL,
                model TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE INDEX phrasings_knowledge ON phrasings(knowledge_id)""",
            """CREATE TABLE help_requests (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                question TEXT NOT NULL,
                embedding BLOB NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'resolved', 'unresolved')),
                caller_name TEXT,
                caller_phone TEXT,
                session_id TEXT,
                best_score REAL,
                created_at TEXT NOT NULL,
                deadline_at TEXT NOT NULL,
                resolved_at TEXT,
                expired_at TEXT,
                answer TEXT,
                answered_by TEXT,
                knowledge_id INTEGER
            )""",
            """CREATE INDEX help_requests_status ON help_requests(status, deadline_at)""",
            """CREATE TABLE help_request_callers (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                help_request_id INTEGER NOT NULL REFERENCES help_requests(id),
                name TEXT,
                phone TEXT,
                session_id TEXT,
                joined_at TEXT NOT NULL
            )""",
            """CREATE INDEX help_request_callers_request ON help_request_callers(help_request_id)""",
            """CREATE TABLE ask_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                asked_at TEXT NOT NULL,
                question TEXT NOT NULL,
                outcome TEXT NOT NULL,
                best_score REAL,
                margin REAL,
                knowledge_id INTEGER,
                help_request_id INTEGER,
                session_id TEXT
            )""",
            """CREATE INDEX ask_log_time ON ask_log(asked_at)""",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                event_type TEXT NOT NULL,
                channel TEXT NOT NULL,
                target TEXT,
                payload TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                last_error TEXT,
                created_at TEXT NOT NULL,
                delivered_at TEXT
            )""",
            """CREATE INDEX outbox_due ON outbox(status, next_attempt_at)""",
            """CREATE TABLE session_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE INDEX session_events_session ON session_events(session_id, id)""",
        ],
    ),
    (
        2,
        [
            # Idempotency-Key replays: the stored response is written in the same transaction as its effect.
            """CREATE TABLE idempotency_keys (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (scope, key)
            )""",
            """CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)""",
        ],
    ),
]

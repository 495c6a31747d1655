"""Versioned schema. Append new versions; never edit one that has shipped.

A version is a list of SQL statements in SQLite's dialect, restricted to what both backends share (TEXT, INTEGER,
REAL, BLOB, `INTEGER PRIMARY KEY AUTOINCREMENT`, `ALTER TABLE ... ADD COLUMN`); the PostgreSQL backend maps those
type names (`storage/postgres.py`), so one list migrates both. Where the two cannot share a statement (SQLite
changes a CHECK constraint only by rebuilding the table), a step is written once per backend as `Dialects`.
Versions need not be contiguous: each is applied once, in list order."""

from kb_service.storage import migrations_0_4, migrations_0_5
from kb_service.storage.dialects import Dialects, statements_for

__all__ = ["MIGRATIONS", "Dialects", "statements_for"]

SHIPPED_0_3: list[tuple[int, list[str | Dialects]]] = [
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
    (
        3,
        [
            # What the matcher was sure of, for live calibration.
            """ALTER TABLE ask_log ADD COLUMN confidence REAL""",
            """ALTER TABLE ask_log ADD COLUMN confirmation_id TEXT""",
            """ALTER TABLE help_requests ADD COLUMN best_knowledge_id INTEGER""",
            """ALTER TABLE help_requests ADD COLUMN best_confidence REAL""",
            # "Just to check — are you asking …?": an ask the caller confirms or declines.
            """CREATE TABLE confirmations (
                id TEXT PRIMARY KEY,
                question TEXT NOT NULL,
                embedding BLOB NOT NULL,
                knowledge_id INTEGER NOT NULL,
                score REAL NOT NULL,
                confidence REAL NOT NULL,
                caller_name TEXT,
                caller_phone TEXT,
                session_id TEXT,
                status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'declined', 'expired')),
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                answered_at TEXT
            )""",
            # Verdicts on "would entry X be the right answer at this confidence": from callers' confirmations,
            # supervisors' resolves and audits. The live precision estimate is computed from them.
            """CREATE TABLE match_labels (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                knowledge_id INTEGER,
                confidence REAL NOT NULL,
                correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
                source TEXT NOT NULL CHECK (source IN ('confirmation', 'resolve', 'audit')),
                created_at TEXT NOT NULL
            )""",
            """CREATE INDEX match_labels_confidence ON match_labels(confidence)""",
            # Auto-answers sampled for the supervisor to mark right or wrong.
            """CREATE TABLE audits (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                question TEXT NOT NULL,
                answer TEXT NOT NULL,
                knowledge_id INTEGER NOT NULL,
                confidence REAL NOT NULL,
                asked_at TEXT NOT NULL,
                verdict TEXT CHECK (verdict IN ('right', 'wrong')),
                reviewed_at TEXT
            )""",
            """CREATE INDEX audits_open ON audits(verdict, id)""",
            """CREATE INDEX audits_entry ON audits(knowledge_id)""",
        ],
    ),
    (
        4,
        [
            # Caller sessions issued by the server: the token is kept only as its SHA-256.
            """CREATE TABLE caller_sessions (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            """CREATE INDEX caller_sessions_expiry ON caller_sessions(expires_at)""",
            # Each waiting caller's own words: a follow-up quotes them, never another caller's.
            """ALTER TABLE help_request_callers ADD COLUMN question TEXT""",
        ],
    ),
    (
        5,
        [
            # Call-backs, per waiting caller: one who asked to be called back instead of waiting, and the
            # supervisor's "called back" with a note (a timed-out request's callers need a call back too).
            """ALTER TABLE help_request_callers ADD COLUMN callback_requested_at TEXT""",
            """ALTER TABLE help_request_callers ADD COLUMN called_back_at TEXT""",
            """ALTER TABLE help_request_callers ADD COLUMN callback_note TEXT""",
        ],
    ),
    (
        6,
        [
            # Every knowledge version and the entry it touched (NULL: any), so each replica's index catches up
            # with just those entries. Numbered under the meta row's lock: no gaps, in commit order.
            """CREATE TABLE knowledge_changes (
                version INTEGER PRIMARY KEY,
                knowledge_id INTEGER,
                changed_at TEXT NOT NULL
            )""",
            # A delivery claimed by one replica until then; after it (the replica died), another retries it.
            """ALTER TABLE outbox ADD COLUMN lease_until TEXT""",
        ],
    ),
    (
        7,
        [
            # The live threshold counts verdicts by confidence range on every sweep: with both columns in the
            # index, each count is a range scan of it, not a read of every verdict.
            """DROP INDEX match_labels_confidence""",
            """CREATE INDEX match_labels_verdicts ON match_labels(confidence, correct)""",
        ],
    ),
]

MIGRATIONS = SHIPPED_0_3 + migrations_0_4.VERSIONS + migrations_0_5.VERSIONS

"""Schema versions added in 0.4: call turns and hand-offs, dismissals, named supervisors, proved phone numbers,
callers' addresses for counting their labels."""

from kb_service.storage.dialects import Dialects

_CALLERS_COLUMNS = (
    "id, help_request_id, name, phone, session_id, joined_at, question, callback_requested_at, called_back_at,"
    " callback_note"
)

_HELP_REQUEST_COLUMNS = (
    "id, question, embedding, status, caller_name, caller_phone, session_id, best_score, created_at, deadline_at,"
    " resolved_at, expired_at, answer, answered_by, knowledge_id, best_knowledge_id, best_confidence,"
    " dismissed_at, dismissed_by"
)


VERSIONS: list[tuple[int, list[str | Dialects]]] = [
    (
        8,
        [
            # A call's turns, newest last, so a follow-up ("what about Saturday?") is read in the light of the
            # question before it and "say that again" repeats what was said, on any replica. `embedding` is the
            # question's vector (NULL for a conversational turn); `handoff_id` is a call-back awaiting a number.
            """CREATE TABLE session_turns (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                said_at TEXT NOT NULL,
                question TEXT NOT NULL,
                embedding BLOB,
                outcome TEXT NOT NULL,
                message TEXT NOT NULL,
                handoff_id INTEGER
            )""",
            """CREATE INDEX session_turns_session ON session_turns(session_id, id)""",
            """CREATE INDEX session_turns_time ON session_turns(said_at)""",
            # A hand-off ("can I speak to someone?") is a call-back with no help request behind it.
            Dialects(
                # SQLite drops the NOT NULL by rebuilding the table (ids and rows kept).
                sqlite=[
                    """CREATE TABLE help_request_callers_new (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        help_request_id INTEGER REFERENCES help_requests(id),
                        name TEXT,
                        phone TEXT,
                        session_id TEXT,
                        joined_at TEXT NOT NULL,
                        question TEXT,
                        callback_requested_at TEXT,
                        called_back_at TEXT,
                        callback_note TEXT
                    )""",
                    f"INSERT INTO help_request_callers_new ({_CALLERS_COLUMNS})"
                    f" SELECT {_CALLERS_COLUMNS} FROM help_request_callers",
                    "DROP TABLE help_request_callers",
                    "ALTER TABLE help_request_callers_new RENAME TO help_request_callers",
                    "CREATE INDEX help_request_callers_request ON help_request_callers(help_request_id)",
                ],
                postgresql=["ALTER TABLE help_request_callers ALTER COLUMN help_request_id DROP NOT NULL"],
            ),
        ],
    ),
    (
        9,
        [
            # Dismissed: not a question ("hello", a test). Nobody is followed up and nothing is learned.
            """ALTER TABLE help_requests ADD COLUMN dismissed_at TEXT""",
            """ALTER TABLE help_requests ADD COLUMN dismissed_by TEXT""",
            # A request's call so far (desk/transcripts.py): the session's asks, read by session.
            """CREATE INDEX ask_log_session ON ask_log(session_id, id)""",
            Dialects(
                # SQLite rebuilds the table for its new CHECK. The callers are set aside and put back, so that no
                # row ever points at a missing request (foreign keys stay on; ids and the id sequence are kept).
                sqlite=[
                    """CREATE TABLE help_requests_new (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        question TEXT NOT NULL,
                        embedding BLOB NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('pending', 'resolved', 'unresolved', 'dismissed')),
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
                        knowledge_id INTEGER,
                        best_knowledge_id INTEGER,
                        best_confidence REAL,
                        dismissed_at TEXT,
                        dismissed_by TEXT
                    )""",
                    f"""INSERT INTO help_requests_new ({_HELP_REQUEST_COLUMNS})
                        SELECT {_HELP_REQUEST_COLUMNS} FROM help_requests""",
                    """UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'help_requests')
                        WHERE name = 'help_requests_new'""",
                    """CREATE TEMP TABLE callers_kept AS SELECT * FROM help_request_callers""",
                    """DELETE FROM help_request_callers""",
                    """DROP TABLE help_requests""",
                    """ALTER TABLE help_requests_new RENAME TO help_requests""",
                    """INSERT INTO help_request_callers SELECT * FROM callers_kept""",
                    """DROP TABLE callers_kept""",
                    """CREATE INDEX help_requests_status ON help_requests(status, deadline_at)""",
                ],
                postgresql=[
                    """ALTER TABLE help_requests DROP CONSTRAINT help_requests_status_check""",
                    """ALTER TABLE help_requests ADD CONSTRAINT help_requests_status_check
                        CHECK (status IN ('pending', 'resolved', 'unresolved', 'dismissed'))""",
                ],
            ),
        ],
    ),
    (
        10,
        [
            # Named supervisors: each signs in as themselves; the password is kept as a salted scrypt hash.
            """CREATE TABLE supervisors (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        11,
        [
            # Texts go only to a number the caller proved: a one-time code per session, kept as its hash.
            """ALTER TABLE caller_sessions ADD COLUMN verified_phone TEXT""",
            """ALTER TABLE help_request_callers ADD COLUMN phone_verified INTEGER NOT NULL DEFAULT 0""",
            """CREATE TABLE phone_codes (
                session_id TEXT PRIMARY KEY,
                phone TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            # Every text to a caller (codes and follow-ups), for the hourly caps per number, per IP and in all.
            """CREATE TABLE texts_sent (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                phone TEXT NOT NULL,
                client_ip TEXT,
                kind TEXT NOT NULL,
                sent_at TEXT NOT NULL
            )""",
            """CREATE INDEX texts_sent_time ON texts_sent(sent_at)""",
        ],
    ),
    (
        12,
        [
            # The client address a call session was opened from (an IPv6 client's /64), and the copies its asks
            # and confirmations take: a caller's yes or no labels an entry at most once per address, and the check
            # band's window of recent asks takes a few from each address (matching/live.py).
            """ALTER TABLE caller_sessions ADD COLUMN client_ip TEXT""",
            """ALTER TABLE confirmations ADD COLUMN client_ip TEXT""",
            """ALTER TABLE ask_log ADD COLUMN client_ip TEXT""",
        ],
    ),
]

"""Schema versions added in 0.5: the caller's confirmed wording, learned as pending phrasings."""

from kb_service.storage.dialects import Dialects

VERSIONS: list[tuple[int, list[str | Dialects]]] = [
    (
        13,
        [
            # The caller's own words of a check they said yes to ("Just to check — are you asking …?"); NULL when
            # they are not a question on their own (a follow-up read with the call's previous question).
            """ALTER TABLE confirmations ADD COLUMN words TEXT""",
            # Callers' confirmed wordings of an entry, waiting for a supervisor (or for enough agreeing calls) to
            # become phrasings. `phrasing_id`: the phrasing it became.
            """CREATE TABLE pending_phrasings (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                knowledge_id INTEGER NOT NULL REFERENCES knowledge_entries(id) ON DELETE CASCADE,
                question TEXT NOT NULL,
                embedding BLOB NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'dropped', 'added')),
                created_at TEXT NOT NULL,
                decided_at TEXT,
                decided_by TEXT,
                phrasing_id INTEGER
            )""",
            """CREATE INDEX pending_phrasings_entry ON pending_phrasings(knowledge_id, status)""",
            """CREATE INDEX pending_phrasings_status ON pending_phrasings(status, id)""",
            # Each call's yes that supports a pending phrasing: one per call session and entry, with the address
            # the yes came from (agreement must come from different calls and different addresses).
            """CREATE TABLE wording_confirmations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                pending_phrasing_id INTEGER NOT NULL REFERENCES pending_phrasings(id) ON DELETE CASCADE,
                knowledge_id INTEGER NOT NULL,
                session_id TEXT NOT NULL,
                client_ip TEXT,
                created_at TEXT NOT NULL,
                UNIQUE (knowledge_id, session_id)
            )""",
            """CREATE INDEX wording_confirmations_phrasing ON wording_confirmations(pending_phrasing_id)""",
        ],
    ),
]

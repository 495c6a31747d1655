"""The caller's confirmed wording: a yes to "Just to check — are you asking X?" is evidence that the caller's words
mean X, so they are kept as a pending phrasing of X, not in the index yet.

A supervisor approves or drops pending phrasings (the console's Audit tab); an approved one becomes an ordinary
phrasing through the knowledge write path, so the index and the calibration follow it. A wording that callers of
AUTO_ADD_AFTER different calls, from as many different addresses, confirmed alike (cosine ≥ AGREE_COSINE) is added
on its own: an added phrasing changes what other callers hear, so one client never adds one alone, and a wording
the supervisor dropped is never proposed again. Each call counts once per entry; a yes outside a call session,
to a follow-up read with the previous question, or of fewer than MIN_WORDS words teaches nothing."""

from __future__ import annotations

import numpy as np

from kb_service.embedding import from_blob, to_blob
from kb_service.errors import Conflict, NotFound
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import guard
from kb_service.matching.matcher import MIN_WORDS_TO_ANSWER
from kb_service.storage.store import Row, Store, Tx, iso, now
from models.pending_phrasings import PendingPhrasingPage, PendingPhrasingPublic, PendingPhrasingsDecided

AGREE_COSINE = 0.90  # two callers' wordings this close say the same thing (docs/quality.md, "Learning")
MIN_WORDS = MIN_WORDS_TO_ANSWER  # "haircut?" is confirmed, never answered outright: nothing to learn from it
CALLERS = "callers"  # decided_by of a wording added after enough agreeing calls

_SELECT = (
    "SELECT p.*, k.answer,"
    " (SELECT question FROM phrasings f WHERE f.knowledge_id = p.knowledge_id ORDER BY f.id LIMIT 1)"
    " AS entry_question,"
    " (SELECT COUNT(DISTINCT session_id) FROM wording_confirmations w WHERE w.pending_phrasing_id = p.id)"
    " AS confirmations"
    " FROM pending_phrasings p JOIN knowledge_entries k ON k.id = p.knowledge_id"
)


def _plain(text: str) -> str:
    return " ".join(guard.TOKEN.findall(text.lower().replace("\u2019", "'")))


def _public(row: Row) -> PendingPhrasingPublic:
    return PendingPhrasingPublic(
        id=row["id"],
        knowledge_id=row["knowledge_id"],
        question=row["question"],
        entry_question=row["entry_question"] or "",
        answer=row["answer"],
        status=row["status"],
        confirmations=row["confirmations"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        phrasing_id=row["phrasing_id"],
    )


class PendingPhrasings:
    def __init__(self, store: Store, kb: KnowledgeBase, auto_add_after: int):
        self.store = store
        self.kb = kb
        self.auto_add_after = auto_add_after  # 0: only a supervisor adds them

    # ---- learning, inside the confirmation's transaction

    @staticmethod
    def learnable(words: str | None, session_id: str | None) -> bool:
        return words is not None and session_id is not None and guard.word_count(words) >= MIN_WORDS

    def embed(self, words: str) -> np.ndarray:
        return self.kb.embedder.embed([words])[0]

    def learn(
        self,
        tx: Tx,
        knowledge_id: int,
        words: str,
        vector: np.ndarray,
        session_id: str,
        client_ip: str | None,
        stamp: str,
    ) -> int | None:
        """Keep a call's confirmed words for the entry; the pending phrasing they support, or None if nothing new
        was learned (this call counted for the entry already, the entry has these words, or a supervisor dropped
        them)."""
        if tx.execute(
            "SELECT 1 FROM wording_confirmations WHERE knowledge_id = ? AND session_id = ?", (knowledge_id, session_id)
        ).fetchone():
            return None
        said = _plain(words)
        known = tx.execute("SELECT question FROM phrasings WHERE knowledge_id = ?", (knowledge_id,)).fetchall()
        if not known or any(_plain(r["question"]) == said for r in known):  # entry gone, or already taught so
            return None
        vector = np.asarray(vector, dtype=np.float32)
        closest, best = None, -1.0
        for row in tx.execute(
            "SELECT id, question, embedding, status FROM pending_phrasings WHERE knowledge_id = ?", (knowledge_id,)
        ):
            cosine = 1.0 if _plain(row["question"]) == said else float(from_blob(row["embedding"]) @ vector)
            if cosine > best:
                closest, best = row, cosine
        if closest is not None and best >= AGREE_COSINE:
            if closest["status"] != "pending":  # learned already, or dropped by a supervisor: final
                return None
            pending_id = int(closest["id"])
        else:
            pending_id = int(
                tx.execute(
                    "INSERT INTO pending_phrasings (knowledge_id, question, embedding, created_at) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (knowledge_id, words.strip(), to_blob(vector), stamp),
                ).fetchone()[0]
            )
        tx.execute(
            "INSERT INTO wording_confirmations (pending_phrasing_id, knowledge_id, session_id, client_ip, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (pending_id, knowledge_id, session_id, client_ip, stamp),
        )
        if self.auto_add_after > 0:
            calls, addresses = tx.execute(
                "SELECT COUNT(DISTINCT session_id), COUNT(DISTINCT client_ip) FROM wording_confirmations"
                " WHERE pending_phrasing_id = ?",
                (pending_id,),
            ).fetchone()
            if min(int(calls), int(addresses)) >= self.auto_add_after:
                row = tx.execute("SELECT * FROM pending_phrasings WHERE id = ?", (pending_id,)).fetchone()
                self._add(tx, row, from_blob(row["embedding"]), "added", CALLERS, stamp)
        return pending_id

    def _add(self, tx: Tx, row: Row, vector: np.ndarray, status: str, by: str, stamp: str) -> None:
        """The wording becomes a phrasing of its entry (the index follows when `tx` commits)."""
        ids = self.kb.writes.insert_phrasings(tx, row["knowledge_id"], [row["question"]], vector[None, :])
        tx.execute(
            "UPDATE pending_phrasings SET status = ?, decided_at = ?, decided_by = ?, phrasing_id = ? WHERE id = ?",
            (status, stamp, by, ids[0] if ids else None, row["id"]),
        )

    # ---- the supervisor

    def waiting(self, limit: int, offset: int, status: str | None = "pending") -> PendingPhrasingPage:
        """Pending phrasings (or those of `status`, None: all), the most confirmed first, then the oldest."""
        where, params = ("WHERE p.status = ?", (status,)) if status else ("", ())
        rows = self.store.query(
            f"{_SELECT} {where} ORDER BY confirmations DESC, p.id LIMIT ? OFFSET ?", (*params, limit, offset)
        )
        total = self.store.scalar(f"SELECT COUNT(*) FROM pending_phrasings p {where}", params)
        return PendingPhrasingPage(items=[_public(r) for r in rows], total=total, auto_add_after=self.auto_add_after)

    def count_waiting(self) -> int:
        return int(self.store.scalar("SELECT COUNT(*) FROM pending_phrasings WHERE status = 'pending'") or 0)

    def get(self, pending_id: int) -> PendingPhrasingPublic:
        row = self.store.query_one(f"{_SELECT} WHERE p.id = ?", (pending_id,))
        if row is None:
            raise NotFound(f"pending phrasing {pending_id} does not exist")
        return _public(row)

    def decide_one(self, pending_id: int, approve: bool, by: str) -> PendingPhrasingPublic:
        """Approve or drop one. 404 if unknown, 409 if decided already."""
        current = self.get(pending_id)
        if current.status != "pending":
            raise Conflict(f"pending phrasing {pending_id} was already {current.status}")
        decided = self.decide([pending_id], approve, by)
        if not decided.decided:
            raise Conflict(f"pending phrasing {pending_id} was decided meanwhile")
        return self.get(pending_id)

    def decide(self, pending_ids: list[int], approve: bool, by: str) -> PendingPhrasingsDecided:
        """Approve (each becomes a phrasing of its entry) or drop several; those decided already are skipped."""
        wanted = list(dict.fromkeys(pending_ids))
        marks = ", ".join("?" for _ in wanted)
        rows = self.store.query(
            f"SELECT id, question FROM pending_phrasings WHERE status = 'pending' AND id IN ({marks})", tuple(wanted)
        )
        # Embedded afresh, outside the write lock: the stored vector may be of an older model.
        vectors = dict(zip([r["id"] for r in rows], self.kb.embedder.embed([r["question"] for r in rows])))
        decided: list[int] = []
        stamp = iso(now())
        with self.store.write() as tx:
            for pending_id in wanted:
                row = tx.execute(
                    "SELECT * FROM pending_phrasings WHERE id = ? AND status = 'pending'", (pending_id,)
                ).fetchone()
                if row is None or pending_id not in vectors:
                    continue
                if approve:
                    self._add(tx, row, vectors[pending_id], "approved", by, stamp)
                else:
                    tx.execute(
                        "UPDATE pending_phrasings SET status = 'dropped', decided_at = ?, decided_by = ? WHERE id = ?",
                        (stamp, by, pending_id),
                    )
                decided.append(pending_id)
        return PendingPhrasingsDecided(
            decided=decided,
            skipped=[i for i in wanted if i not in decided],
            status="approved" if approve else "dropped",
        )

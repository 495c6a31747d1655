"""Follow-ups: once a request is answered or times out, each waiting caller hears of it on their call page, and
by text when they proved their number (desk/phones.py) and the hourly caps allow (desk/texts.py).

The page quotes the caller's own question (it is their own page); a text never does. A personal answer
(desk/personal.py) goes only to the callers the resolve names; the others are told on their page to ask again."""

from __future__ import annotations

import json
from dataclasses import dataclass

from kb_service.desk import outbox, personal, texts
from kb_service.desk.texts import TextCaps
from kb_service.ops.logs import mask_phone
from kb_service.storage.store import Effect, Row, Store, Tx, iso, now

WITHHELD_MESSAGE = (
    "The supervisor answered a question like yours, but that answer was for another caller. "
    "Please ask again in your own words, or ask to be called back."
)


@dataclass(frozen=True)
class FollowUps:
    store: Store
    business_name: str
    queued: Effect  # after a commit that queued notifications: wakes the outbox's workers
    caller_webhook_url: str | None = None
    call_url: str | None = None  # the call page's public address (KB_PUBLIC_URL), linked from texts
    caps: TextCaps = TextCaps()

    def queue(
        self, tx: Tx, help_request_id: int, question: str, status: str, answer: str | None, only: set[int] | None = None
    ) -> int:
        """Queue a page event, and a text where allowed, for every caller waiting on this request (with `only`:
        just those references; the others get a page note without the answer). Returns how many were sent it."""
        callers = tx.execute(
            "SELECT * FROM help_request_callers WHERE help_request_id = ? ORDER BY id", (help_request_id,)
        ).fetchall()
        tx.on_commit(self.queued)
        sent = 0
        for caller in callers:
            own_question = caller["question"] or question
            if only is not None and caller["id"] not in only:
                self._page(tx, caller, status, own_question, None, WITHHELD_MESSAGE)
                continue
            self._page(
                tx, caller, status, own_question, answer, self.page_message(caller["name"], own_question, answer)
            )
            if caller["phone"] and caller["phone_verified"]:
                self._text(tx, help_request_id, caller, status, answer)
            sent += 1
        return sent

    def personal(self, help_request_id: int, answer: str, include: list[int]) -> tuple[list[str], set[int] | None]:
        """Why `answer` looks personal (desk/personal.py), and then who may have it: the caller who asked first
        and the references in `include`; (`[]`, None: everyone) for an ordinary answer."""
        callers = self.store.query(
            "SELECT id, name FROM help_request_callers WHERE help_request_id = ? ORDER BY id", (help_request_id,)
        )
        why = personal.reasons(answer, [c["name"] for c in callers])
        return why, ({callers[0]["id"], *include} if why and callers else None)

    def page_message(self, name: str | None, question: str, answer: str | None) -> str:
        greeting = f"Hi {name}, this" if name else "Hi, this"
        if answer is None:
            return (
                f'{greeting} is {self.business_name}. Sorry, we could not get you an answer to "{question}" '
                "in time. Someone will call you back as soon as possible."
            )
        return f'{greeting} is {self.business_name} following up on "{question}": {answer}'

    def _page(self, tx: Tx, caller: Row, status: str, question: str, answer: str | None, message: str) -> None:
        if not caller["session_id"]:
            return
        live = {
            "reference": caller["id"],
            "status": status,
            "question": question,
            "answer": answer,
            "message": message,
        }
        tx.execute(
            "INSERT INTO session_events (session_id, event_type, payload, created_at) VALUES (?, 'followup', ?, ?)",
            (caller["session_id"], json.dumps(live), iso(now())),
        )
        self.store.notify(tx, "events")

    def _text(self, tx: Tx, help_request_id: int, caller: Row, status: str, answer: str | None) -> None:
        """A text to the caller's proved number: no words of theirs, a link to their call, within the caps."""
        phone = caller["phone"]
        if (broken := texts.over_cap(tx, self.caps, phone)) is not None:
            skipped = f"No text to {mask_phone(phone)} about request {help_request_id}: {broken}"
            outbox.queue(tx, f"help_request.{status}", outbox.CONSOLE, {"text": skipped})
            return
        link = f"{self.call_url.rstrip('/')}/?session={caller['session_id']}" if self.call_url else None
        message = texts.followup_text(self.business_name, caller["joined_at"], answer, link)
        texts.record(tx, phone, "followup")
        line = {"text": f"SMS to {mask_phone(phone)}: {message}", "help_request_id": help_request_id}
        outbox.queue(tx, f"help_request.{status}", outbox.CONSOLE, line)
        if self.caller_webhook_url:
            payload = {
                "reference": caller["id"],
                "status": status,
                "answer": answer,
                "message": message,
                "caller_phone": phone,
                "asked_at": caller["joined_at"],
                "call_url": link,
            }
            outbox.queue(tx, f"help_request.{status}", outbox.WEBHOOK, payload, self.caller_webhook_url)

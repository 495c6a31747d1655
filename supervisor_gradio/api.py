"""`ApiClient`: the console's only way into the service, the public HTTP API with the supervisor token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


class ApiError(Exception):
    """A refused or failed API call, with the service's own message (`detail` / `message`)."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message

    def explain(self) -> str:
        """For the console's Markdown: our words and the service's message (ids and field names, no caller text)."""
        return f"The service said no ({self.status_code or 'unreachable'}): `{self.message[:300].replace('`', '')}`"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return str(body)[:200]


class ApiClient:
    """One method per row of the README's API table (the supervisor's part of it)."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the service at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, _message(response))
        return None if response.status_code == 204 else response.json()

    # ---- help requests

    def help_requests(
        self, status: str | None = None, limit: int = 200, offset: int = 0, order: str = "newest"
    ) -> dict:
        params: dict[str, Any] = {"limit": limit, "offset": offset, "order": order}
        if status:
            params["status"] = status
        return self._call("GET", "/api/help-requests", params=params)

    def all_help_requests(self, status: str | None = None, order: str = "newest", cap: int = 1000) -> list[dict]:
        """Every page up to `cap` items."""
        items: list[dict] = []
        while len(items) < cap:
            page = self.help_requests(status, limit=min(200, cap - len(items)), offset=len(items), order=order)
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["total"]:
                break
        return items

    def pending(self) -> list[dict]:
        """The queue: pending requests, oldest first."""
        return self.all_help_requests("pending", order="oldest")

    def help_request(self, help_request_id: int) -> dict:
        return self._call("GET", f"/api/help-requests/{help_request_id}")

    def resolve(
        self,
        help_request_id: int,
        answer: str,
        question: str | None = None,
        learn: bool = True,
        knowledge_id: int | None = None,
        answered_by: str | None = None,
        include_references: list[int] | None = None,
    ) -> dict:
        """`include_references`: other joined callers a personal answer also goes to (it goes to the first one)."""
        # Ticked: the service's default (learn, unless the answer looks personal); unticked: never learn.
        body: dict[str, Any] = {"answer": answer} if learn else {"answer": answer, "learn": False}
        if include_references:
            body["include_references"] = include_references
        if answered_by:
            body["answered_by"] = answered_by
        if question:
            body["question"] = question
        if knowledge_id is not None:
            body["knowledge_id"] = knowledge_id
        return self._call("POST", f"/api/help-requests/{help_request_id}/resolve", json=body)

    def dismiss(self, help_request_id: int, dismissed_by: str | None = None) -> dict:
        """Not a question: nobody is followed up, nothing is learned. ApiError 409 if it is no longer pending."""
        body = {"dismissed_by": dismissed_by} if dismissed_by else None
        return self._call("POST", f"/api/help-requests/{help_request_id}/dismiss", json=body)

    def similar(self, help_request_id: int) -> list[dict]:
        """Pending requests whose question is like this one's, most similar first."""
        return self._call("GET", f"/api/help-requests/{help_request_id}/similar")["items"]

    def resolve_similar(self, help_request_id: int, help_request_ids: list[int]) -> dict:
        """Send a resolved request's answer to these similar ones: `{"resolved", "skipped", "followups_queued"}`."""
        body = {"help_request_ids": help_request_ids}
        return self._call("POST", f"/api/help-requests/{help_request_id}/similar/resolve", json=body)

    # ---- knowledge

    def knowledge(self, q: str | None = None, limit: int = 50, offset: int = 0) -> dict:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if q:
            params["q"] = q
        return self._call("GET", "/api/knowledge", params=params)

    def knowledge_entry(self, knowledge_id: int) -> dict:
        return self._call("GET", f"/api/knowledge/{knowledge_id}")

    def create_knowledge(self, answer: str, questions: list[str]) -> dict:
        return self._call("POST", "/api/knowledge", json={"answer": answer, "questions": questions})

    def update_knowledge(
        self, knowledge_id: int, answer: str | None = None, questions: list[str] | None = None
    ) -> dict:
        body = {k: v for k, v in (("answer", answer), ("questions", questions)) if v is not None}
        return self._call("PATCH", f"/api/knowledge/{knowledge_id}", json=body)

    def delete_knowledge(self, knowledge_id: int) -> None:
        self._call("DELETE", f"/api/knowledge/{knowledge_id}")

    def preview_import(self, fmt: str, text: str) -> dict:
        """What importing would do, line by line: `{"lines", "problems", "entries_new", …}`. Writes nothing."""
        return self._call("POST", "/api/knowledge/import/preview", json={"format": fmt, "text": text})

    def import_knowledge(self, fmt: str, text: str, replace_demo: bool = False) -> dict:
        """Import all of it (ApiError 422 naming the wrong lines, and nothing written); with `replace_demo`, a
        knowledge base holding only the demo salon loses the demo's entries first (`demo_removed` says how many)."""
        body = {"format": fmt, "text": text, "replace_demo": replace_demo}
        return self._call("POST", "/api/knowledge/import", json=body)

    # ---- audits: sampled auto-answers for the supervisor's verdict

    def audits(self, limit: int = 20, offset: int = 0) -> dict:
        """Auto-answers waiting for a verdict, oldest first: `{"items", "total"}`."""
        return self._call("GET", "/api/audits", params={"limit": limit, "offset": offset})

    def review_audit(self, audit_id: int, correct: bool) -> dict:
        """Mark an auto-answer right or wrong; ApiError 409 if someone marked it already."""
        return self._call("POST", f"/api/audits/{audit_id}", json={"correct": correct})

    # ---- call-backs: callers to phone back, one per caller

    def callbacks(self, status: str = "open", limit: int = 200) -> dict:
        """`{"items", "total"}`: `open` the longest waiting first, `done` the latest first."""
        return self._call("GET", "/api/callbacks", params={"status": status, "limit": limit})

    def callback_done(self, callback_id: int, note: str | None = None) -> dict:
        """Mark a call-back made; ApiError 409 if someone marked it already."""
        return self._call("POST", f"/api/callbacks/{callback_id}/done", json={"note": note or None})

    # ---- named supervisors

    def signs_in(self, name: str, password: str) -> bool:
        """Whether this named supervisor's password is right (the service checks it)."""
        try:
            self._call("POST", "/api/supervisors/sign-in", json={"name": name, "password": password})
        except ApiError:
            return False
        return True

    # ---- counts

    def quality(self) -> dict:
        """The live precision estimate of auto-answers, with its 95% interval and the audits waiting."""
        return self._call("GET", "/api/quality")

    def insights(self, days: int = 30) -> dict:
        """Day by day over `days` days (1-365), the most-escalated questions and the entries unused in 30 days."""
        return self._call("GET", "/api/insights", params={"days": days})

    def stats(self) -> dict:
        return self._call("GET", "/api/stats")

    def dashboard(self) -> dict:
        return self._call("GET", "/api/dashboard")


# The ApiClient to use for one console event, given its `gr.Request`.
ClientFor = Callable[[Any], ApiClient]

# The console user who signs in with the shared supervisor token; named supervisors sign in as themselves.
SHARED_USER = "supervisor"


def author(request: Any) -> str | None:
    """Who to sign an answer or dismissal with: the signed-in named supervisor, or None (the service then signs it
    "supervisor")."""
    name = getattr(request, "username", None)
    return name if name and name != SHARED_USER else None

"""Named supervisors: each signs in to the console as themselves, so every answer says who gave it.

A supervisor's password is generated once (`frontdesk supervisors add NAME` prints it) and kept only as a salted
scrypt hash. The shared supervisor token keeps working for API clients and the console user `supervisor`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from kb_service.errors import Conflict, DomainError
from kb_service.storage.store import Store, iso, now

SHARED_USER = "supervisor"  # the console user of the shared token: no named supervisor may take the name
MAX_NAME_CHARS = 60
# scrypt's cost: about 50 ms and 16 MiB per check, so a stolen database's hashes are slow to guess.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class BadName(DomainError):
    status_code = 422


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise BadName(f"a supervisor's name is 1 to {MAX_NAME_CHARS} printable characters")
    if name.casefold() == SHARED_USER:
        raise BadName(f"“{SHARED_USER}” is the shared token's user; pick a person's name")
    return name


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(stored: str, password: str) -> bool:
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), f"scrypt${salt}${digest}")


def add(store: Store, name: str) -> tuple[str, str]:
    """A new supervisor: (their name as kept, their password). 409 if the name is taken."""
    name = check_name(name)
    password = secrets.token_urlsafe(15)  # 20 characters
    with store.write() as tx:
        taken = tx.execute("SELECT 1 FROM supervisors WHERE lower(name) = lower(?)", (name,)).fetchone()
        if taken:
            raise Conflict(f"there is a supervisor called {name} already")
        tx.execute(
            "INSERT INTO supervisors (name, password_hash, created_at) VALUES (?, ?, ?)",
            (name, hash_password(password), iso(now())),
        )
    return name, password


def names(store: Store) -> list[str]:
    return [row["name"] for row in store.query("SELECT name FROM supervisors ORDER BY name")]


def verify(store: Store, name: str, password: str) -> bool:
    """Whether `password` is this named supervisor's. An unknown name costs a hash too, so timing tells nothing."""
    row = store.query_one("SELECT password_hash FROM supervisors WHERE name = ?", (name,))
    if row is None:
        hash_password(password)
        return False
    return password_matches(row["password_hash"], password)

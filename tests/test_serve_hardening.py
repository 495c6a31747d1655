"""`frontdesk serve` as an operator runs it: the open-file limit raised at start, access lines without session
secrets, and a full disk answered with 503 and Retry-After (issue 26, items 4 and 6)."""

from __future__ import annotations

import resource

import httpx

from tests.support import wait_for
from tests.test_durability import ServiceProcess


def open_file_limit(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open-file limit listed")


def test_serve_raises_its_file_limit_masks_access_lines_and_says_when_the_disk_is_full_on_healthz_too(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))  # the child starts with a low soft limit
    try:
        service = ServiceProcess(tmp_path / "data", "--access-log").start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert open_file_limit(service.proc.pid) == (hard, hard)

        with httpx.Client(base_url=service.url, timeout=30) as http:
            opened = http.post("/api/sessions").json()
            session_id = opened["session_id"]
            http.post(f"/api/transcribe?session_id={session_id}", content=b"x", headers={"content-type": "audio/wav"})
            wait_for(lambda: "/api/transcribe" in service.log_text(), what="the access line")
            log = service.log_text()
            assert session_id not in log and opened["session_token"] not in log
            assert "session_id=•••" in log

            # The disk fills up: SQLite cannot write any more (here: a file-size limit on the process).
            resource.prlimit(service.proc.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            full = http.post("/api/ask", json={"question": "Can I park my boat behind the salon?"})
            assert full.status_code == 503 and int(full.headers["Retry-After"]) > 0
            assert "disk" in full.json()["detail"]
            # ... and /healthz says so, so that a load balancer takes the replica out while the disk is full.
            for _ in range(2):  # the probe write fails again: still unavailable
                health = http.get("/healthz")
                assert health.status_code == 503 and health.json()["status"] == "unavailable"
                assert "disk" in health.json()["detail"] and int(health.headers["Retry-After"]) > 0

            resource.prlimit(service.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            recovered = http.get("/healthz")  # no ask in between: /healthz's own probe write finds the disk back
            assert recovered.status_code == 200 and recovered.json()["status"] == "ok"
            assert http.post("/api/ask", json={"question": "Can I park my boat behind the salon?"}).status_code == 200
    finally:
        service.stop()

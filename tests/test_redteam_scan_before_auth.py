"""A decision request's secrets scan must not run before its token is checked, nor on
the server's event loop (``service/decisions.py``, ``_decide_as_async``).

Today ``scans = self._scan(batch)`` runs first, on the event loop: a request with no
token at all and a 900 KB body of ``password=`` repeated costs the server about 3 s of
CPU (7 s with PEM openings, before the scanner found their ends once per text) before
it answers ``401 token_missing``, and meanwhile nothing else is served, ``/healthz``
and the kill switch included. A few such requests in a row keep a replica unavailable,
with no credential needed.

The fix (for the owner of ``service/decisions.py``): refuse a missing or malformed
token before scanning (``parse_token`` needs no store), and run the scan of a large
batch in a worker thread (``await asyncio.to_thread(self._scan, batch)``), or check the
token first in its own read and scan only for a caller who holds a good one; the token
is checked again in the decision's transaction as now.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from charter.service import Services
from tests.helpers import agent_token, bearer
from tests.servers import Served

FLOOD = "password=" * 100_000  # 900 KB, under the 1 MiB limit: each a name to look at
REQUEST = {
    "capability": "do",
    "action": "ticket.create",
    "resource": "ticketing/queue/support",
    "input": {"log": FLOOD},
}


@pytest.mark.xfail(
    strict=True,
    reason="service/decisions.py scans a decision request before checking its token",
)
def test_a_request_without_a_token_is_refused_before_its_body_is_scanned(
    served: Served,
) -> None:
    with httpx.Client(base_url=served.url, timeout=120) as client:
        for headers in ({}, {"Authorization": "Bearer garbage"}):
            started = time.monotonic()
            answer = client.post("/v1/decisions", json=REQUEST, headers=headers)
            took = time.monotonic() - started
            assert answer.status_code == 401, answer.text
            assert took < 0.5, f"{took:.1f} s to refuse a request with no good token"


@pytest.mark.xfail(
    strict=True,
    reason="service/decisions.py scans a decision request on the server's event loop",
)
def test_health_answers_while_a_large_request_is_scanned(
    served: Served, services: Services
) -> None:
    agent = bearer(agent_token(services, "support-bot"))
    done = threading.Event()

    def heavy() -> None:
        try:
            httpx.post(f"{served.url}/v1/decisions", json=REQUEST, headers=agent, timeout=120)
        finally:
            done.set()

    thread = threading.Thread(target=heavy, daemon=True)
    thread.start()
    slowest = 0.0
    with httpx.Client(base_url=served.url, timeout=120) as client:
        while not done.is_set():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            done.wait(0.05)
    thread.join(timeout=120)
    assert slowest < 0.5, f"/healthz waited {slowest:.1f} s behind one request's scan"

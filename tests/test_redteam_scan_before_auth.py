"""A decision request's secrets scan runs neither before its token is found good nor on
the server's event loop (``service/decisions.py``, ``_scan_for`` and ``SCAN_ON_THREAD``).

A 900 KB body of ``password=`` repeated costs the scanner about 3 s of CPU. Scanned
before the token check and on the event loop, it let a caller with no credential keep a
replica from answering anything, ``/healthz`` and the kill switch included. Bounds here
are a third of that scan, so they fail when it is back, whatever the machine's load.
"""

from __future__ import annotations

import threading
import time

import httpx

from charter.policy.model import Capability
from charter.service import Services
from charter.service.decisions import Asked
from charter.service.secrets import Scanned
from tests.helpers import agent_token, bearer
from tests.servers import Served

FLOOD = "password=" * 100_000  # 900 KB, under the 1 MiB limit: each a name to look at
REQUEST = {
    "capability": "do",
    "action": "ticket.create",
    "resource": "ticketing/queue/support",
    "input": {"log": FLOOD},
}


def test_a_request_without_a_token_is_refused_before_its_body_is_scanned(
    served: Served,
) -> None:
    with httpx.Client(base_url=served.url, timeout=120) as client:
        well_formed = "cht_" + "a" * 16 + "_" + "b" * 43  # the format, but no such token
        for headers in ({}, {"Authorization": "Bearer garbage"}, bearer(well_formed)):
            started = time.monotonic()
            answer = client.post("/v1/decisions", json=REQUEST, headers=headers)
            took = time.monotonic() - started
            assert answer.status_code == 401, answer.text
            assert took < 1.0, f"{took:.1f} s to refuse a request with no good token"


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
    assert slowest < 1.0, f"/healthz waited {slowest:.1f} s behind one request's scan"


def test_a_token_found_good_only_in_the_transaction_gets_its_batch_scanned(
    pack: None, services: Services
) -> None:
    # Found bad before the transaction (so not scanned) and good inside it, as when its
    # holder is reinstated in between: the batch is scanned there, never left unscanned
    # nor failing the group commit it shares.
    token = agent_token(services, "support-bot")
    asked = Asked(
        capability=Capability.DO,
        action="ticket.create",
        resource="ticketing/queue/support",
        input={"log": "password=hunter2-correct-horse"},
    )
    unscanned: list[Scanned] = []  # what _scan_for gives a token it found bad
    work = services.decisions._checked(token, [asked], unscanned, services.clock())
    checked, decided, refused = services.decisions._write(work)
    assert checked.principal is not None
    assert refused is None
    assert len(unscanned) == 1
    assert [finding.type for finding in decided[0].secrets] == [
        finding.type for finding in unscanned[0].findings
    ]
    assert decided[0].secrets, "the password in the input was scanned and found"

"""A decision request's secrets scan runs neither before its token is found good nor on
the server's event loop (``service/decisions.py``, ``_scan_for`` and ``SCAN_ON_THREAD``).

A 900 KB body of ``password=`` repeated costs the scanner about 3 s of CPU. Scanned
before the token check and on the event loop, it let a caller with no credential keep a
replica from answering anything, ``/healthz`` and the kill switch included. The checks
here are measured against that scan (the process's CPU time, the heavy request's own
time), so they fail when it is back and hold on a loaded machine.
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
            started = time.process_time()  # every thread's CPU: the server's included
            answer = client.post("/v1/decisions", json=REQUEST, headers=headers)
            spent = time.process_time() - started
            assert answer.status_code == 401, answer.text
            assert spent < 1.0, f"{spent:.1f} s of CPU to refuse a request with no good token"


def test_health_answers_while_a_large_request_is_scanned(
    served: Served, services: Services
) -> None:
    agent = bearer(agent_token(services, "support-bot"))
    done = threading.Event()
    took: list[float] = []

    def heavy() -> None:
        started = time.monotonic()
        try:
            httpx.post(f"{served.url}/v1/decisions", json=REQUEST, headers=agent, timeout=120)
        finally:
            took.append(time.monotonic() - started)
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
    # Behind the scan, /healthz waits about as long as the heavy request itself takes.
    bound = max(1.0, took[0] / 2)
    assert slowest < bound, f"/healthz waited {slowest:.1f} s of the heavy {took[0]:.1f} s"


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

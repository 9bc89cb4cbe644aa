"""Failed authentications are audited, but a flood of them cannot bury the log."""

from __future__ import annotations

from datetime import timedelta

from charter.clock import ManualClock
from charter.errors import AuthenticationError
from charter.service import SYSTEM, Services
from charter.service.throttle import FailureBudget
from charter.service.tokens import FAILURES_PER_SECOND
from charter.storage.ports import AuditQuery


def _records(services: Services, record_type: str) -> list[dict[str, object]]:
    records = services.audit.query(SYSTEM, AuditQuery(types=[record_type], limit=1000))
    return [record.data() for record in records]


def _fail(services: Services, times: int) -> None:
    for _ in range(times):
        try:
            services.tokens.authenticate("cht_not-a-token", where="GET /v1/whoami")
        except AuthenticationError:
            continue
        raise AssertionError("a bad token was accepted")


def test_budget_counts_past_the_limit_and_reports_each_window_once(clock: ManualClock) -> None:
    budget = FailureBudget(per_second=2)
    start = clock()
    assert budget.admit(start) == (True, None)
    assert budget.admit(start) == (True, None)
    assert budget.admit(start)[0] is False
    assert budget.admit(start)[0] is False
    later = clock.advance(timedelta(seconds=1))
    admitted, finished = budget.admit(later)
    assert admitted
    assert finished is not None
    assert (finished.count, finished.since) == (2, start)
    assert budget.drain() is None


def test_a_flood_of_bad_tokens_is_recorded_up_to_the_budget_then_counted(
    services: Services, clock: ManualClock
) -> None:
    _fail(services, FAILURES_PER_SECOND + 10)
    assert len(_records(services, "auth.failed")) == FAILURES_PER_SECOND
    assert _records(services, "auth.failures_suppressed") == []

    clock.advance(timedelta(seconds=1))
    _fail(services, 1)
    assert len(_records(services, "auth.failed")) == FAILURES_PER_SECOND + 1
    [summary] = _records(services, "auth.failures_suppressed")
    assert summary["count"] == 10

    # Failures past the budget that no later failure reports are flushed by the server.
    _fail(services, FAILURES_PER_SECOND + 3)
    services.tokens.flush_suppressed_failures()
    counts = [record["count"] for record in _records(services, "auth.failures_suppressed")]
    assert counts == [10, 4]
    assert services.audit.verify_store().ok

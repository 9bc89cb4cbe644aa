"""Review outcomes in force, as each decision's ``Facts.withdrawn``.

A revoke, reduce or make-eligible decided on a binding takes effect on the agent's very
next decision, on every server: each transaction that records decisions reads, with the
active revision and after it took its place in the audit log, one number from the store
(``PolicyState.outcomes_version``, which moves with every outcome put in force or
settled), and reloads the outcomes when it moved. Each agent's outcomes are compiled
against the active revision once, on its first decision, and kept until the version or
the revision changes.

Fail closed: an outcome that cannot be compiled as decided (a reduce whose narrower
role no longer fits the binding's role) withdraws the whole binding instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from charter.errors import InvalidInput
from charter.policy.cel import compile_condition
from charter.policy.compiled import CompiledWithdrawal
from charter.policy.compiler import compile_withdrawals
from charter.policy.decision import Withdrawal, WithdrawalKind
from charter.policy.engine import Engine
from charter.reviews.campaigns import ReviewItem, Verdict
from charter.reviews.narrow import role_from_document
from charter.reviews.patch import PatchOutcome
from charter.storage.ports import UnitOfWork

__all__ = ["ReviewOutcomes", "patch_outcome_of", "withdrawal_of"]

_KINDS = {
    Verdict.REVOKE: WithdrawalKind.REVOKE,
    Verdict.REDUCE: WithdrawalKind.REDUCE,
    Verdict.MAKE_ELIGIBLE: WithdrawalKind.MAKE_ELIGIBLE,
}

Withdrawn = Callable[[str], tuple[CompiledWithdrawal, ...]]


def withdrawal_of(item: ReviewItem) -> Withdrawal | None:
    """The withdrawal a decided binding item puts in force, if it puts one."""
    if item.verdict not in _KINDS or not item.source.startswith("Binding/"):
        return None
    kind = _KINDS[item.verdict]
    role = None
    if kind is WithdrawalKind.REDUCE and item.narrower is not None:
        role = role_from_document(item.narrower)
    return Withdrawal(
        binding=item.source.removeprefix("Binding/"),
        kind=kind,
        campaign=item.campaign,
        item=item.id,
        role=role,
    )


def patch_outcome_of(item: ReviewItem) -> PatchOutcome | None:
    """What ``charter reviews patch`` makes permanent of a decided binding item, if any."""
    withdrawal = withdrawal_of(item)
    if withdrawal is None:
        return None
    return PatchOutcome(
        agent=item.agent,
        binding=withdrawal.binding,
        kind=withdrawal.kind,
        campaign=item.campaign,
        item=item.id,
        role=withdrawal.role,
    )


class ReviewOutcomes:
    """The outcomes in force, by agent, compiled for the active revision."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._revision: str | None = None
        self._by_agent: dict[str, list[Withdrawal]] = {}
        self._compiled: dict[str, tuple[CompiledWithdrawal, ...]] = {}

    def current(self, unit: UnitOfWork, engine: Engine, version: int) -> Withdrawn:
        """What each agent has withdrawn, as ``unit`` sees the outcomes now: ``version`` is
        its ``PolicyState.outcomes_version``, read once a transaction (the decisions a group
        commit records together share one, which holds the audit head, so no outcome can
        change within it)."""
        with self._lock:
            if version != self._version:
                by_agent: dict[str, list[Withdrawal]] = {}
                for item in unit.reviews.in_force() if version else ():
                    withdrawal = withdrawal_of(item)
                    if withdrawal is not None:
                        by_agent.setdefault(item.agent, []).append(withdrawal)
                self._by_agent, self._version = by_agent, version
                self._compiled = {}
            if engine.revision != self._revision:
                self._revision, self._compiled = engine.revision, {}
            by_agent, compiled = self._by_agent, self._compiled
        if not by_agent:
            return _nothing

        def withdrawn(agent: str) -> tuple[CompiledWithdrawal, ...]:
            found = compiled.get(agent)
            if found is None:
                found = _compile(engine, agent, by_agent.get(agent, ()))
                compiled[agent] = found
            return found

        return withdrawn


def _nothing(agent: str) -> tuple[CompiledWithdrawal, ...]:
    return ()


def _compile(
    engine: Engine, agent: str, withdrawals: list[Withdrawal] | tuple[()]
) -> tuple[CompiledWithdrawal, ...]:
    if not withdrawals:
        return ()
    found: list[CompiledWithdrawal] = []
    for withdrawal in withdrawals:
        try:
            found.extend(
                compile_withdrawals(
                    engine.snapshot, agent, [withdrawal], conditions=compile_condition
                )
            )
        except InvalidInput:
            # Fail closed: what cannot be reduced as decided is withdrawn whole.
            revoke = Withdrawal(
                withdrawal.binding, WithdrawalKind.REVOKE, withdrawal.campaign, withdrawal.item
            )
            found.extend(
                compile_withdrawals(engine.snapshot, agent, [revoke], conditions=compile_condition)
            )
    return tuple(found)

"""``charter.Engine``: load a policy, compile it once, and decide in process."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from charter.clock import Clock, system_clock, to_utc
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus
from charter.policy.cel import compile_condition
from charter.policy.cleartext import secrets_in
from charter.policy.compiled import Snapshot
from charter.policy.compiler import compile_policy
from charter.policy.decision import AgentFacts, Decision, Facts, Request
from charter.policy.diagnostics import Diagnostic
from charter.policy.evaluate import evaluate
from charter.policy.explain import explain, trace
from charter.policy.loader import load_texts, read_files
from charter.policy.model import Policy
from charter.policy.testing import CaseResult, PolicyTest, run_case
from charter.policy.validate import validate

__all__ = ["Engine", "PolicyInvalid", "revision_of"]


class PolicyInvalid(InvalidInput):
    """A policy with errors: every diagnostic is in ``diagnostics``."""

    default_code = ErrorCode.INVALID_POLICY

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        errors = [d for d in diagnostics if d.severity.value == "error"]
        summary = "; ".join(str(d) for d in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"the policy has {len(errors)} error(s): {summary}{more}")
        self.diagnostics = tuple(diagnostics)


_NO_AGENT = Facts(agent=None)
"""The facts of an agent the policy does not declare: unknown, so denied."""


def revision_of(texts: Mapping[str, str]) -> str:
    """The content hash naming a policy revision: same files, same revision."""
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode("utf-8") + b"\x00" + texts[name].encode("utf-8") + b"\x00")
    return f"rev_{digest.hexdigest()[:16]}"


class Engine:
    """An in-process policy decision point over one compiled policy revision.

    Agents declared in the policy are taken as active unless ``facts`` say otherwise;
    a server passes the registry's facts instead.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        revision: str,
        diagnostics: Sequence[Diagnostic] = (),
        tests: Sequence[PolicyTest] = (),
        clock: Clock = system_clock,
    ) -> None:
        self.policy = policy
        self.revision = revision
        self.diagnostics = tuple(diagnostics)
        self.tests = tuple(tests)
        self.snapshot: Snapshot = compile_policy(
            policy, revision=revision, conditions=compile_condition
        )
        self._clock = clock
        self._declared = {
            agent.name: AgentFacts(
                id=agent.name,
                owner=agent.owner,
                status=AgentStatus.ACTIVE,
                risk_tier=agent.risk_tier,
                labels=dict(agent.labels),
            )
            for agent in policy.agents
        }
        # Facts are immutable: each declared agent's are built once, not per decision.
        self._facts = {name: Facts(agent=agent) for name, agent in self._declared.items()}

    @classmethod
    def from_texts(
        cls,
        texts: Mapping[str, str],
        *,
        clock: Clock = system_clock,
        known_agents: Collection[str] = (),
        stored: bool = False,
    ) -> Engine:
        """Load, validate and compile ``{file name: YAML}``; raise ``PolicyInvalid``.

        ``known_agents`` are agents registered elsewhere that bindings may name. A secret
        in the files is an error (``secret_in_policy``), and so is a binding naming an
        agent unknown when some are known, unless they are a revision already ``stored``,
        which is compiled as it was accepted.
        """
        loaded = load_texts(texts)
        validated = validate(loaded, known_agents=known_agents, accepted=stored)
        cleartext = [] if stored else secrets_in(texts)
        if validated.policy is None or cleartext:
            raise PolicyInvalid([*cleartext, *validated.diagnostics])
        return cls(
            validated.policy,
            revision=revision_of(texts),
            diagnostics=validated.diagnostics,
            tests=loaded.tests,
            clock=clock,
        )

    @classmethod
    def from_documents(cls, *documents: str, clock: Clock = system_clock) -> Engine:
        """Load policy from YAML strings (each may hold several documents)."""
        return cls.from_texts(
            {f"<document {number}>": text for number, text in enumerate(documents, 1)},
            clock=clock,
        )

    @classmethod
    def from_directory(cls, directory: str | Path, *, clock: Clock = system_clock) -> Engine:
        """Load every ``*.yaml`` / ``*.yml`` file under ``directory``."""
        root = Path(directory)
        if not root.is_dir():
            raise InvalidInput(f"{root} is not a directory", code=ErrorCode.POLICY_NOT_FOUND)
        texts = read_files(root)
        return cls.from_texts(texts, clock=clock)

    def run_tests(self) -> list[CaseResult]:
        """Decide every case of the policy's ``PolicyTest`` documents."""
        return [run_case(self, test, case) for test in self.tests for case in test.cases]

    def facts_for(self, agent: str) -> Facts:
        """The facts the engine assumes on its own: declared agents are active."""
        found = self._facts.get(agent)
        return found if found is not None else _NO_AGENT

    def explain(
        self, request: Request, *, facts: Facts | None = None, now: datetime | None = None
    ) -> str:
        """Decide ``request`` and explain why: the deciding rules, every rule considered
        and how its conditions came out, what was released or redacted."""
        facts = facts if facts is not None else self.facts_for(request.agent)
        moment = to_utc(now) if now is not None else self._clock()
        decision = evaluate(request, self.snapshot, facts, moment)
        return explain(request, decision, trace(request, self.snapshot, facts, moment))

    def decide(
        self, request: Request, *, facts: Facts | None = None, now: datetime | None = None
    ) -> Decision:
        """Decide ``request``; unknown agents, errors and gaps all deny."""
        if facts is None:
            facts = self._facts.get(request.agent, _NO_AGENT)
        if now is None:
            moment = self._clock()
        elif now.tzinfo is UTC:
            moment = now  # what `to_utc` would give, without building it again
        else:
            moment = to_utc(now)
        return evaluate(request, self.snapshot, facts, moment)

"""The secrets guard's use cases: registering leaks, scanning what agents would surface,
and the registry's view every decision is checked against.

Fingerprints are HMAC-SHA256 under a key derived from the server key (the audit signing
key made at ``charter init``): the store holds fingerprints, never a secret, and a copy of
the database alone cannot test guesses against them.

Each server holds the registry in memory (fingerprints and the lengths of their
secrets). A decision checks, inside its own transaction, that the registry still has as
many leaks as the view it was scanned against (leaks are never removed, so the count is
the registry's version) and is scanned again when it has not: a leak registered through
any server before a decision commits counts for it. The sweeper's refresh keeps the view
fresh between decisions.

A decision request is scanned whole: the agent, the action, the resource and its
attributes (keys and values), the fields, the context and the input (keys and values,
nested). What is recorded or sent of it is the masked copy (``Scanned``); the raw
strings stay in memory for the one decision.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.codes import DecisionCode, ErrorCode
from charter.errors import InvalidInput, NotFound, Unavailable
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.policy.decision import Decision, Effect, Reason
from charter.secrets import Finding, LeakSet, Scanner
from charter.secrets.free_text import Registry
from charter.secrets.leaks import MAX_NOTE, Leak
from charter.service.access import require_roles
from charter.storage.ports import Store, UnitOfWork

__all__ = ["FINGERPRINT", "LEAK_ROTATED", "MAX_SECRET", "LeakService", "Scanned", "scanner_from"]

_LABEL = b"charter secret fingerprints v1"
FINGERPRINT = re.compile(r"^fp_[0-9a-f]{32}$")
"""The shape of a fingerprint."""
MAX_SECRET = 16384
"""Longest secret a report may carry, in characters."""


def scanner_from(signing_key: Ed25519PrivateKey | None) -> tuple[Scanner, bool]:
    """A scanner keyed from the server key, and True; without a server key, one keyed at
    random for this process only (nothing it fingerprints can be registered), and False."""
    if signing_key is None:
        return Scanner(random.token_bytes(32)), False
    seed = signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return Scanner(hmac.new(seed, _LABEL, hashlib.sha256).digest()), True


_SEES_LEAKS = (HumanRole.ADMIN, HumanRole.AUDITOR)

LEAK_ROTATED = "secret.leak_rotated"
"""The audit record type that marks a leak rotated (read by posture)."""
"""Who a scan tells which findings are registered leaks (and their fingerprints)."""


@dataclass(frozen=True, slots=True)
class Scanned:
    """A decision request with its secrets masked (every string of it, keys included),
    the findings, and the registry's view it was scanned against."""

    agent: str | None
    action: str
    resource: str
    resource_attributes: dict[str, Any]
    fields: tuple[str, ...]
    context: dict[str, Any]
    input: Any
    findings: tuple[Finding, ...]
    leaks: LeakSet = field(default_factory=LeakSet)
    swaps: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Each string that was masked and what it became (held for the one decision, to
    mask what the evaluator's messages repeat of the request)."""

    @property
    def leaked(self) -> tuple[str, ...]:
        """Fingerprints of the registered leaks among the findings."""
        return tuple(
            dict.fromkeys(f.fingerprint for f in self.findings if f.leaked and f.fingerprint)
        )

    def masked(self, text: str) -> str:
        """``text`` with every masked string of the request in it masked too (as it is,
        and as ``repr`` quotes it)."""
        for raw, shown in self.swaps:
            if raw in text:
                text = text.replace(raw, shown)
            quoted = repr(raw)[1:-1]
            if quoted != raw and quoted in text:
                text = text.replace(quoted, repr(shown)[1:-1])
        return text

    def scrubbed(self, decision: Decision) -> Decision:
        """``decision`` with what its messages and fields repeat of the request masked."""
        if not self.swaps:
            return decision
        return replace(
            decision,
            message=self.masked(decision.message),
            reasons=tuple(
                replace(reason, message=self.masked(reason.message)) for reason in decision.reasons
            ),
            errors=tuple(self.masked(error) for error in decision.errors),
            released_fields=tuple(self.masked(name) for name in decision.released_fields),
            redacted_fields=tuple(self.masked(name) for name in decision.redacted_fields),
        )


def leaked_decision(scanned: Scanned, revision: str | None) -> Decision:
    """The deny a request carrying a registered leak gets, before anything else."""
    reason = Reason(
        "invariant",
        "no_leaked_secrets",
        Effect.DENY,
        f"the request carries a secret reported leaked ({', '.join(scanned.leaked)})",
    )
    return Decision(
        effect=Effect.DENY,
        code=DecisionCode.LEAKED_SECRET,
        reasons=(reason,),
        policy_revision=revision or "",
        message=reason.message,
    )


def _swaps(raw: Any, masked: Any, found: list[tuple[str, str]]) -> None:
    """The strings (and keys) of ``raw`` that differ in ``masked``, the same shape."""
    if isinstance(raw, str):
        if raw != masked:
            found.append((raw, masked))
    elif isinstance(raw, Mapping) and isinstance(masked, Mapping):
        for (key, item), (shown, masked_item) in zip(raw.items(), masked.items(), strict=False):
            if isinstance(key, str) and key != shown:
                found.append((key, shown))
            _swaps(item, masked_item, found)
    elif isinstance(raw, list | tuple) and isinstance(masked, list | tuple):
        for item, masked_item in zip(raw, masked, strict=False):
            _swaps(item, masked_item, found)


class LeakService:
    """The leaked-secret registry, and scans against it."""

    def __init__(self, store: Store, clock: Clock, scanner: Scanner, *, keyed: bool = True) -> None:
        self._store, self._clock, self.scanner = store, clock, scanner
        self._keyed = keyed
        self._leaks: LeakSet | None = None

    # -- the registry's view ------------------------------------------------------------

    def leaks(self) -> LeakSet:
        """The registered leaks as held in memory (read from the store the first time)."""
        return self._leaks if self._leaks is not None else self._load()

    def held(self) -> LeakSet | None:
        """The registry as held in memory; None when it has not been read yet."""
        return self._leaks

    def refresh(self) -> bool:
        """Read the registry again (or for the first time); True if it changed (another
        server added to it)."""
        before = self._leaks
        return self._load() != before and before is not None

    def _load(self) -> LeakSet:
        with self._store.read() as unit:
            self._leaks = LeakSet.of(unit.leaks.lookup())
        return self._leaks

    def current(self, unit: UnitOfWork, seen: LeakSet) -> LeakSet | None:
        """The registry as ``unit`` sees it when it has changed since ``seen`` (a leak was
        registered since; None: it has not). Run inside the decision's transaction, after
        it took its place in the audit log, where a leak report also takes its place."""
        if unit.leaks.count() == seen.count:
            return None
        self._leaks = LeakSet.of(unit.leaks.lookup())
        return self._leaks

    def scan_request(
        self,
        leaks: LeakSet,
        *,
        agent: str | None,
        action: str,
        resource: str,
        resource_attributes: Mapping[str, Any],
        fields: tuple[str, ...],
        context: Mapping[str, Any],
        input: Any,
    ) -> Scanned:
        """Mask the secrets of every string of a decision request, keys included (in one
        pass: the paths start ``$.agent``, ``$.action``, ``$.resource``,
        ``$.resource_attributes``, ``$.fields``, ``$.context`` and ``$.input``)."""
        whole = {
            "agent": agent,
            "action": action,
            "resource": resource,
            "resource_attributes": dict(resource_attributes),
            "fields": list(fields),
            "context": dict(context),
            "input": input,
        }
        masked, findings = self.scanner.mask(whole, leaks=leaks)
        swaps: list[tuple[str, str]] = []
        if masked is not whole:
            _swaps(whole, masked, swaps)
        return Scanned(
            agent=masked["agent"],
            action=masked["action"],
            resource=masked["resource"],
            resource_attributes=masked["resource_attributes"],
            fields=tuple(masked["fields"]),
            context=masked["context"],
            input=masked["input"],
            findings=tuple(findings),
            leaks=leaks,
            swaps=tuple(swaps),
        )

    # -- use cases ----------------------------------------------------------------------

    def report(
        self,
        actor: Principal,
        *,
        value: str | None = None,
        fingerprint: str | None = None,
        note: str,
        ticket: str | None = None,
        source: str | None = None,
    ) -> tuple[Leak, bool]:
        """Register an exposed secret, given as its value or its fingerprint; the leak and
        whether it is new (a second report of the same secret changes nothing)."""
        require_roles(actor, "report leaked secrets", HumanRole.ADMIN)
        if not self._keyed:
            raise Unavailable(
                "this server has no key to fingerprint secrets with",
                code=ErrorCode.FINGERPRINT_KEY_MISSING,
                help="start the server with its audit signing key (charter serve does)",
            )
        found, kind, length = self._identify(value, fingerprint)
        # The report's own text must not keep the secret it reports (as it is or wrapped).
        itself = LeakSet.of([(found, length)])
        note = self._without(itself, note)
        ticket = None if ticket is None else self._without(itself, ticket)
        source = None if source is None else self._without(itself, source)
        _check_text("note", note, required=True)
        _check_text("ticket", ticket)
        _check_text("source", source)
        now = self._clock()
        leak = Leak(found, kind, length, note.strip(), ticket, source, actor.ref, now)
        with self._store.write() as unit:
            added = unit.leaks.add(leak)
            if added:
                unit.audit.append(_reported(actor, leak, now))
            current = unit.leaks.get(found) or leak
            # Read afresh now, so that free text written next is masked against it too.
            self._leaks = LeakSet.of(unit.leaks.lookup())
        return current, added

    def _without(self, leaks: LeakSet, text: str) -> str:
        shown: str = self.scanner.mask(text, leaks=leaks, only_leaked=True)[0]
        return shown

    def registry(self) -> Registry:
        """What arrives is checked against (``charter.secrets.free_text``): this server's
        keyed scanner and the registry as held in memory."""
        return Registry(self.scanner, self.held)

    def mark_rotated(self, actor: Principal, fingerprint: str, *, note: str) -> int:
        """Record that a leaked secret was rotated at its issuer (admins): the leak stays
        registered (the old value is still refused) but posture stops reporting it. The
        audit record is the mark; its seq is returned. Marking it again adds a record."""
        require_roles(actor, "mark leaked secrets rotated", HumanRole.ADMIN)
        if not FINGERPRINT.match(fingerprint):
            raise InvalidInput(
                f"{fingerprint[:64]!r} is not a fingerprint (fp_ and 32 hex digits)",
                code=ErrorCode.INVALID_FINGERPRINT,
            )
        _check_text("note", note, required=True)
        now = self._clock()
        with self._store.write() as unit:
            if unit.leaks.get(fingerprint) is None:
                raise NotFound(
                    f"no leak is registered as {fingerprint}", code=ErrorCode.LEAK_NOT_FOUND
                )
            record = unit.audit.append(
                AuditEntry(
                    type=LEAK_ROTATED,
                    actor=actor.ref,
                    at=now,
                    subject=fingerprint,
                    data={"fingerprint": fingerprint, "note": note.strip()},
                )
            )
            return record.seq

    def list(
        self, actor: Principal, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Leak]:
        """Registered leaks, by fingerprint."""
        require_roles(actor, "list leaked secrets", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            return unit.leaks.list(after=after, limit=limit)

    def scan(
        self, actor: Principal, content: Any, *, redact_all: bool = True
    ) -> tuple[Any, builtins.list[dict[str, Any]]]:
        """Scan what an agent would surface (a tool result, a model's output): the content
        with every finding masked (or, without ``redact_all``, only the registered
        leaks), and the findings as the caller may see them: which are registered leaks,
        and the fingerprints, only for admins and auditors (anyone else could test
        guesses against the registry). Finding a registered leak is audited."""
        masked, findings = self.scanner.mask(
            content, leaks=self.leaks(), only_leaked=not redact_all
        )
        leaked = [f for f in findings if f.leaked]
        if leaked:
            with self._store.write() as unit:
                unit.audit.append(_seen(actor, leaked, self._clock()))
        if actor.has_any(*_SEES_LEAKS):
            return masked, [finding.to_json() for finding in findings]
        return masked, [_unmarked(finding) for finding in findings]

    def _identify(
        self, value: str | None, fingerprint: str | None
    ) -> tuple[str, str | None, int | None]:
        """The fingerprint, detected type and length of what a report names."""
        if fingerprint is not None and value is None:
            if not FINGERPRINT.match(fingerprint):
                raise InvalidInput(
                    f"{fingerprint!r} is not a fingerprint (fp_ and 32 hex digits)",
                    code=ErrorCode.INVALID_FINGERPRINT,
                )
            return fingerprint, None, None
        if value is None or fingerprint is not None:
            raise InvalidInput(
                "give the leaked secret's value or its fingerprint, not both",
                code=ErrorCode.LEAK_VALUE_OR_FINGERPRINT,
            )
        secret = value.strip()
        digest = self.scanner.fingerprint(secret)
        if not secret or len(secret) > MAX_SECRET or digest is None:
            raise InvalidInput(
                f"the leaked secret must be 1 to {MAX_SECRET} characters",
                code=ErrorCode.INVALID_SECRET,
            )
        whole = [f for f in self.scanner.scan(secret) if f.start == 0 and f.end == len(secret)]
        return digest, whole[0].type if whole else None, len(secret)


def _unmarked(finding: Finding) -> dict[str, Any]:
    shown = finding.to_json()
    del shown["leaked"], shown["fingerprint"]
    return shown


def _check_text(name: str, value: str | None, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if value is None or not value.strip() or len(value) > MAX_NOTE:
        raise InvalidInput(
            f"{name} must be 1 to {MAX_NOTE} characters",
            code=ErrorCode.INVALID_LEAK_REPORT,
        )


def _reported(actor: Principal, leak: Leak, now: datetime) -> AuditEntry:
    return AuditEntry(
        type="secret.leak_reported",
        actor=actor.ref,
        at=now,
        subject=leak.fingerprint,
        data=leak.to_json(),
    )


def _seen(actor: Principal, leaked: builtins.list[Finding], now: datetime) -> AuditEntry:
    return AuditEntry(
        type="secret.leak_redacted",
        actor=actor.ref,
        at=now,
        agent=None if actor.is_human else actor.id,
        data={"findings": [finding.to_json() for finding in leaked]},
    )

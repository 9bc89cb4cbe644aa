"""The secrets guard's use cases: registering leaks, scanning what agents would surface,
and the registry's view every decision is checked against.

Fingerprints are HMAC-SHA256 under a key derived from the server key (the audit signing
key made at ``charter init``): the store holds fingerprints, never a secret, and a copy of
the database alone cannot test guesses against them.

Each server holds the registry in memory (fingerprints and the lengths of their
secrets); a report through this server counts for its next decision, and a report
through another server sharing the store within a second (the sweeper's refresh).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets as random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from charter.audit.records import AuditEntry
from charter.clock import Clock
from charter.errors import InvalidInput, Unavailable
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.secrets import Finding, LeakSet, Scanner
from charter.secrets.leaks import MAX_NOTE, Leak
from charter.service.access import require_roles
from charter.storage.ports import Store

__all__ = ["FINGERPRINT", "MAX_SECRET", "LeakService", "Scanned", "scanner_from"]

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


@dataclass(frozen=True, slots=True)
class Scanned:
    """A request's context and input with their secrets masked, and the findings."""

    context: dict[str, Any]
    input: Any
    findings: tuple[Finding, ...]

    @property
    def leaked(self) -> tuple[str, ...]:
        """Fingerprints of the registered leaks among the findings."""
        return tuple(
            dict.fromkeys(f.fingerprint for f in self.findings if f.leaked and f.fingerprint)
        )


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

    def refresh(self) -> bool:
        """Read the registry again; True if it changed (another server added to it)."""
        before = self._leaks
        return before is not None and self._load() != before

    def _load(self) -> LeakSet:
        with self._store.read() as unit:
            self._leaks = LeakSet.of(unit.leaks.lookup())
        return self._leaks

    def scan_request(self, context: dict[str, Any], input: Any, leaks: LeakSet) -> Scanned:
        """Mask the secrets of a decision request's context and input (in one pass: the
        paths start ``$.context`` and ``$.input``)."""
        masked, findings = self.scanner.mask({"context": context, "input": input}, leaks=leaks)
        return Scanned(masked["context"], masked["input"], tuple(findings))

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
                code="fingerprint_key_missing",
                help="start the server with its audit signing key (charter serve does)",
            )
        found, kind, length = self._identify(value, fingerprint)
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
        self._leaks = None  # read afresh for the next decision
        return current, added

    def list(
        self, actor: Principal, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Leak]:
        """Registered leaks, by fingerprint."""
        require_roles(actor, "list leaked secrets", HumanRole.ADMIN, HumanRole.AUDITOR)
        with self._store.read() as unit:
            return unit.leaks.list(after=after, limit=limit)

    def scan(
        self, actor: Principal, content: Any, *, redact_all: bool = True
    ) -> tuple[Any, builtins.list[Finding]]:
        """Scan what an agent would surface (a tool result, a model's output): the content
        with every finding masked (or, without ``redact_all``, only the registered
        leaks), and the findings. Finding a registered leak is audited."""
        masked, findings = self.scanner.mask(
            content, leaks=self.leaks(), only_leaked=not redact_all
        )
        leaked = [f for f in findings if f.leaked]
        if leaked:
            with self._store.write() as unit:
                unit.audit.append(_seen(actor, leaked, self._clock()))
        return masked, findings

    def _identify(
        self, value: str | None, fingerprint: str | None
    ) -> tuple[str, str | None, int | None]:
        """The fingerprint, detected type and length of what a report names."""
        if fingerprint is not None and value is None:
            if not FINGERPRINT.match(fingerprint):
                raise InvalidInput(
                    f"{fingerprint!r} is not a fingerprint (fp_ and 32 hex digits)",
                    code="invalid_fingerprint",
                )
            return fingerprint, None, None
        if value is None or fingerprint is not None:
            raise InvalidInput(
                "give the leaked secret's value or its fingerprint, not both",
                code="leak_value_or_fingerprint",
            )
        secret = value.strip()
        digest = self.scanner.fingerprint(secret)
        if not secret or len(secret) > MAX_SECRET or digest is None:
            raise InvalidInput(
                f"the leaked secret must be 1 to {MAX_SECRET} characters",
                code="invalid_secret",
            )
        whole = [f for f in self.scanner.scan(secret) if f.start == 0 and f.end == len(secret)]
        return digest, whole[0].type if whole else None, len(secret)


def _check_text(name: str, value: str | None, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if value is None or not value.strip() or len(value) > MAX_NOTE:
        raise InvalidInput(
            f"{name} must be 1 to {MAX_NOTE} characters",
            code="invalid_leak_report",
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

"""Compliance reports from the store: figures over the audit log, findings, and the
evidence bundle for every record the report cites.

``findings`` is where posture checks plug in: a callable returning the current findings
(each naming ``framework:control`` refs and citing record seqs). ``Services.build`` wires
the posture service's findings through ``charter.compliance.findings.from_posture``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from charter.clock import Clock
from charter.codes import ErrorCode
from charter.compliance.figures import compute_figures
from charter.compliance.findings import FindingLike, from_posture
from charter.compliance.render import ReportFormat, render
from charter.compliance.report import ComplianceReport, assemble, cited_seqs, framework
from charter.errors import InvalidInput
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.service.access import SYSTEM, require_roles
from charter.service.evidence import EvidenceService
from charter.service.posture import PostureService
from charter.storage.ports import Store

__all__ = ["ComplianceService", "posture_findings"]


def _no_findings() -> Sequence[FindingLike]:
    return ()


def posture_findings(posture: PostureService) -> Callable[[], Sequence[FindingLike]]:
    """The current posture findings, as reports take them.

    Read as SYSTEM: ``report_as`` has already checked that the report's caller is an
    admin or an auditor, who may read posture anyway; posture only reads.
    """

    def current() -> Sequence[FindingLike]:
        return [from_posture(finding) for finding in posture.findings(SYSTEM)]

    return current


class ComplianceService:
    """Builds compliance reports for auditors and admins."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        evidence: EvidenceService,
        findings: Callable[[], Sequence[FindingLike]] = _no_findings,
    ) -> None:
        self._store = store
        self._clock = clock
        self._evidence = evidence
        self.findings = findings

    def report_as(self, actor: Principal, framework_id: str, form: ReportFormat) -> str:
        """The report on ``framework_id`` rendered as ``form``: auditors and admins."""
        require_roles(actor, "read compliance reports", HumanRole.AUDITOR, HumanRole.ADMIN)
        return render(self.report(framework_id), form)

    def report(self, framework_id: str) -> ComplianceReport:
        """The report on ``framework_id``, its cited records proved in one bundle."""
        try:
            chosen = framework(framework_id)
        except KeyError as error:
            raise InvalidInput(str(error.args[0]), code=ErrorCode.UNKNOWN_FRAMEWORK) from None
        with self._store.read() as unit:
            bodies: list[dict[str, Any]] = [json.loads(r.body) for r in unit.audit.records()]
        now = self._clock()
        figures = compute_figures(bodies, now)
        findings = self.findings()
        seqs = cited_seqs(chosen, figures, findings)
        bundle = self._evidence.bundle(seqs) if seqs else None
        return assemble(chosen, figures, findings, bundle, at=now)

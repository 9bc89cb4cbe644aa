"""The investigation of one agent: its timeline, and the changes it was allowed to make.

Read from the agent's audit records after a time: every decision (what it requested,
inferred and did, and on what authority: the permissions, the approval and grants the
decision's reasons cite), the approvals opened for it and who voted, grants, secrets
seen in its traffic (fingerprints only: the log never holds a value), which decisions
cited which inferences, and the *blast radius*: the allowed ``do`` decisions by action
and resource, what there is to unwind. Every entry carries the seq of the record it
comes from, so an export can be checked against the log (and inclusion proofs attached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.audit.records import AuditRecord

__all__ = ["Investigation", "investigate", "to_markdown"]

_APPROVAL = "Approval/"
_GRANT_NOTE = "through grant "


@dataclass(frozen=True, slots=True)
class Investigation:
    """An agent's incident view, as the API answers and the export writes it."""

    agent: str
    since: datetime
    until: datetime
    timeline: list[dict[str, Any]]
    blast_radius: list[dict[str, Any]]
    secrets: list[dict[str, Any]]
    inferences: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    audit_seqs: list[int]
    truncated: bool = False
    """True when the window held more records than one investigation reads."""

    def to_json(self) -> dict[str, Any]:
        """The investigation as JSON (the ``--format json`` export)."""
        return {
            "agent": self.agent,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "timeline": self.timeline,
            "blast_radius": self.blast_radius,
            "secrets": self.secrets,
            "inferences": self.inferences,
            "approvals": self.approvals,
            "audit_seqs": self.audit_seqs,
            "truncated": self.truncated,
        }


def _authority(reasons: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """What an allow rested on, from its reasons: permissions, an approval, grants."""
    permissions, approvals, grants = [], [], []
    for reason in reasons:
        policy, rule = str(reason.get("policy", "")), str(reason.get("rule", ""))
        if reason.get("effect") != "allow":
            continue
        if policy.startswith(_APPROVAL):
            approvals.append(policy.removeprefix(_APPROVAL))
            continue
        permissions.append(f"{policy} {rule}")
        message = str(reason.get("message") or "")
        if message.startswith(_GRANT_NOTE):
            grants.append(message.removeprefix(_GRANT_NOTE))
    return {"permissions": permissions, "approvals": approvals, "grants": grants}


def _decision(record: AuditRecord, data: Mapping[str, Any]) -> dict[str, Any]:
    request = data.get("request") or {}
    secrets = request.get("secrets") or []
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "type": record.type,
        "actor": record.actor,
        "decision_id": record.subject,
        "capability": request.get("capability"),
        "action": request.get("action"),
        "resource": request.get("resource"),
        "decision": data.get("decision"),
        "code": data.get("code"),
        "on_behalf_of": request.get("on_behalf_of"),
        "opened_approval": data.get("approval"),
        **_authority(data.get("reasons") or []),
        "fingerprints": sorted({str(s.get("fingerprint")) for s in secrets}),
        "cites": list(request.get("derived_from") or []),
    }


def _event(record: AuditRecord, data: Mapping[str, Any]) -> dict[str, Any]:
    """Any other record of the agent, with the few fields a reader needs."""
    entry: dict[str, Any] = {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "type": record.type,
        "actor": record.actor,
        "subject": record.subject,
    }
    for key in ("vote", "reason", "code"):
        if key in data:
            entry[key] = data[key]
    grant = data.get("grant")
    if isinstance(grant, Mapping):
        entry["role"] = grant.get("role")
        entry["approval"] = grant.get("approval")
    return entry


def _approvals(records: list[AuditRecord]) -> list[dict[str, Any]]:
    """Each approval opened or closed in the window: its rule, who voted how, its end."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        if not record.type.startswith("approval.") or record.subject is None:
            continue
        data = record.data()
        shown = data.get("approval") or {}
        entry = found.setdefault(
            record.subject,
            {
                "id": record.subject,
                "policy": shown.get("policy"),
                "action": shown.get("action"),
                "resource": shown.get("resource"),
                "status": "pending",
                "votes": [],
                "seqs": [],
            },
        )
        entry["seqs"].append(record.seq)
        if record.type == "approval.voted":
            entry["votes"].append({"human": record.actor, "vote": data.get("vote")})
        elif record.type != "approval.created":
            entry["status"] = record.type.removeprefix("approval.")
    return list(found.values())


def _blast_radius(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The allowed ``do`` decisions by action and resource: what the agent changed."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in decisions:
        if entry["capability"] != "do" or entry["decision"] != "allow":
            continue
        key = (str(entry["action"]), str(entry["resource"]))
        row = found.setdefault(
            key,
            {
                "action": key[0],
                "resource": key[1],
                "count": 0,
                "first_at": entry["at"],
                "last_at": entry["at"],
                "decision_ids": [],
                "permissions": [],
                "approvals": [],
                "grants": [],
                "seqs": [],
            },
        )
        row["count"] += 1
        row["last_at"] = entry["at"]
        row["decision_ids"].append(entry["decision_id"])
        row["seqs"].append(entry["seq"])
        for kind in ("permissions", "approvals", "grants"):
            row[kind].extend(x for x in entry[kind] if x not in row[kind])
    return sorted(found.values(), key=lambda row: (row["action"], row["resource"]))


def _secrets(records: list[AuditRecord]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        data = record.data()
        listed = (data.get("request") or {}).get("secrets") or data.get("findings") or []
        for finding in listed:
            fingerprint = str(finding.get("fingerprint"))
            row = found.setdefault(
                fingerprint,
                {
                    "fingerprint": fingerprint,
                    "type": finding.get("type"),
                    "leaked": False,
                    "seqs": [],
                },
            )
            row["leaked"] = row["leaked"] or bool(finding.get("leaked"))
            if record.seq not in row["seqs"]:
                row["seqs"].append(record.seq)
    return sorted(found.values(), key=lambda row: row["fingerprint"])


def _inferences(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agent's inferences, each with the decisions in the window that cited it."""
    cited_by: dict[str, list[str]] = {}
    for entry in decisions:
        for cited in entry["cites"]:
            cited_by.setdefault(cited, []).append(entry["decision_id"])
    return [
        {
            "decision_id": entry["decision_id"],
            "action": entry["action"],
            "resource": entry["resource"],
            "decision": entry["decision"],
            "seq": entry["seq"],
            "cited_by": cited_by.get(entry["decision_id"], []),
        }
        for entry in decisions
        if entry["capability"] == "infer"
    ]


def investigate(
    agent: str,
    records: Iterable[AuditRecord],
    *,
    since: datetime,
    now: datetime,
    truncated: bool = False,
) -> Investigation:
    """The investigation of ``agent`` over its records from ``since`` (any order)."""
    ordered = sorted(records, key=lambda record: record.seq)
    timeline: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    for record in ordered:
        data = record.data()
        if record.type == "decision":
            entry = _decision(record, data)
            decisions.append(entry)
            timeline.append(entry)
        else:
            timeline.append(_event(record, data))
    approvals = _approvals(ordered)
    approvers = {
        a["id"]: [v["human"] for v in a["votes"] if v["vote"] == "approve"] for a in approvals
    }
    for entry in decisions:
        entry["approved_by"] = sorted(
            {human for used in entry["approvals"] for human in approvers.get(used, [])}
        )
    return Investigation(
        agent=agent,
        since=since,
        until=now,
        timeline=timeline,
        blast_radius=_blast_radius(decisions),
        secrets=_secrets(ordered),
        inferences=_inferences(decisions),
        approvals=approvals,
        audit_seqs=[record.seq for record in ordered],
        truncated=truncated,
    )


def _cell(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def _table(headers: list[str], rows: Iterable[list[Any]]) -> list[str]:
    body = ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    if not body:
        return ["None."]
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers), *body]


def to_markdown(found: Investigation) -> str:
    """The investigation as a Markdown report (the ``--format markdown`` export)."""
    lines = [
        f"# Investigation of agent {found.agent}",
        "",
        f"From {found.since.isoformat()} to {found.until.isoformat()}; "
        f"{len(found.audit_seqs)} audit records"
        + (" (truncated: the window holds more)." if found.truncated else "."),
        "",
        "## Blast radius: allowed changes to unwind",
        "",
    ]
    lines += _table(
        [
            "action",
            "resource",
            "count",
            "first",
            "last",
            "permissions",
            "approvals",
            "grants",
            "seqs",
        ],
        (
            [
                r["action"],
                r["resource"],
                r["count"],
                r["first_at"],
                r["last_at"],
                r["permissions"],
                r["approvals"],
                r["grants"],
                r["seqs"],
            ]
            for r in found.blast_radius
        ),
    )
    lines += ["", "## Approvals", ""]
    lines += _table(
        ["approval", "rule", "action", "resource", "status", "votes", "seqs"],
        (
            [
                a["id"],
                a["policy"],
                a["action"],
                a["resource"],
                a["status"],
                [f"{v['human']} {v['vote']}" for v in a["votes"]],
                a["seqs"],
            ]
            for a in found.approvals
        ),
    )
    lines += ["", "## Secrets seen (fingerprints)", ""]
    lines += _table(
        ["fingerprint", "type", "leaked", "seqs"],
        ([s["fingerprint"], s["type"], s["leaked"], s["seqs"]] for s in found.secrets),
    )
    lines += ["", "## Inferences and who cited them", ""]
    lines += _table(
        ["decision", "action", "resource", "decision", "cited by", "seq"],
        (
            [i["decision_id"], i["action"], i["resource"], i["decision"], i["cited_by"], i["seq"]]
            for i in found.inferences
        ),
    )
    lines += ["", "## Timeline", ""]
    lines += _table(
        ["seq", "at", "type", "what", "outcome", "by", "on the authority of"],
        (_timeline_row(entry) for entry in found.timeline),
    )
    lines += ["", f"Audit records cited: {_cell(found.audit_seqs)}", ""]
    return "\n".join(lines)


def _timeline_row(entry: Mapping[str, Any]) -> list[Any]:
    if entry["type"] == "decision":
        what = f"{entry['capability']} {entry['action']} on {entry['resource']}"
        authority = entry["permissions"] + [f"Approval/{a}" for a in entry["approvals"]]
        if entry["approved_by"]:
            authority.append("approved by " + " and ".join(entry["approved_by"]))
        return [
            entry["seq"],
            entry["at"],
            "decision",
            what,
            entry["code"],
            entry["actor"],
            authority,
        ]
    outcome = entry.get("vote") or entry.get("reason") or entry.get("code") or ""
    subject = entry.get("subject") or ""
    return [entry["seq"], entry["at"], entry["type"], subject, outcome, entry["actor"], ""]

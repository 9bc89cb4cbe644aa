"""``charter reviews``: access review campaigns (start, list, show, close, sweep), each
reviewer's queue and items (queue, item, decide), an agent's proposals (propose), the
outcomes in force (outcomes) and the policy change that makes them permanent (patch)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from charter.cli.common import (
    AsJson,
    Server,
    Token,
    client,
    emit,
    err,
    group,
    handled,
    out,
    parsing,
    table,
)
from charter.codes import ErrorCode
from charter.durations import parse_duration
from charter.errors import InvalidInput, NotFound, PermissionDenied
from charter.identity.agents import RiskTier
from charter.reviews.campaigns import CampaignStatus, Overdue, Verdict
from charter.wire.reviews import (
    CAMPAIGN_ID_PATTERN,
    ITEM_ID_PATTERN,
    PROPOSAL_ID_PATTERN,
    CampaignOut,
    ItemOut,
    SweepOut,
)

if TYPE_CHECKING:
    from charter.reviews.patch import Patch, PatchOutcome
    from charter.sdk.client import Client

__all__ = ["app"]

app = group(
    "Access reviews: start, list, show, close and sweep campaigns; queue, item, decide and "
    "propose on items; outcomes in force, and patch to make them permanent in policy."
)

CampaignId = Annotated[
    str, typer.Argument(help="Campaign id, e.g. rvc_2hjhztitm46e.", show_default=False)
]
ItemId = Annotated[str, typer.Argument(help="Review item id, e.g. rvi_...", show_default=False)]
VerdictOption = Annotated[
    Verdict,
    typer.Option(
        "--verdict",
        help="keep, revoke, reduce, make_eligible, reassign_owner, retire_agent or dont_know.",
        show_default=False,
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]

_CAMPAIGN_ID = re.compile(CAMPAIGN_ID_PATTERN)
_ITEM_ID = re.compile(ITEM_ID_PATTERN)
_PROPOSAL_ID = re.compile(PROPOSAL_ID_PATTERN)


def _checked(text: str, pattern: re.Pattern[str], what: str, example: str, where: str) -> str:
    """``text`` if it matches ``pattern``, else ``InvalidInput`` saying what one looks like."""
    if pattern.fullmatch(text) is None:
        raise InvalidInput(
            f"{text[:64]!r} is not a {what}",
            code=ErrorCode.INVALID_REQUEST,
            help=f"a {what} looks like {example}; {where} shows them",
        )
    return text


def _campaign_id(text: str) -> str:
    return _checked(text, _CAMPAIGN_ID, "campaign id", "rvc_2hjhztitm46e", "'charter reviews list'")


def _item_id(text: str) -> str:
    return _checked(
        text,
        _ITEM_ID,
        "review item id",
        "rvi_ and 16 letters or digits",
        "'charter reviews queue' or 'charter reviews show CAMPAIGN'",
    )


def _proposal_id(text: str) -> str:
    return _checked(
        text,
        _PROPOSAL_ID,
        "proposal id",
        "rvp_ and 16 letters or digits",
        "'charter reviews item ITEM'",
    )


def parse_due(text: str, *, now: datetime | None = None) -> datetime:
    """``--due``: a duration from now (``14d``), a date (due at the end of that day, UTC)
    or an ISO 8601 time (UTC unless it names an offset)."""
    text = text.strip()
    now = now or datetime.now(UTC)
    if re.fullmatch(r"[0-9]+\s*[smhd]", text):
        return now + parse_duration(text)
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=1)
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None:
        raise InvalidInput(
            f"--due {text[:64]!r} is neither a duration nor a date",
            code=ErrorCode.INVALID_DUE_DATE,
            help="give a duration from now (14d), a date (2026-12-31) or a time "
            "(2026-12-31T17:00:00Z)",
        )
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


_REVIEWER = re.compile(r"(user|group):[a-z0-9][a-z0-9._-]{0,62}")


def _reviewer(text: str | None) -> str | None:
    if text is not None and _REVIEWER.fullmatch(text) is None:
        raise InvalidInput(
            f"--reviewer {text[:64]!r} is neither user:ID nor group:NAME",
            code=ErrorCode.INVALID_REVIEWER,
            help="e.g. --reviewer user:alice or --reviewer group:security",
        )
    return text


def _labels(pairs: list[str] | None) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"--label {pair[:64]!r} is not key=value",
                code=ErrorCode.INVALID_LABELS,
                help="e.g. --label team=ops",
            )
        labels[key] = value
    return labels


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def _counts(campaign: CampaignOut) -> str:
    counts = campaign.counts
    shown = [f"{counts.get('items', 0)} items"]
    shown += [
        f"{counts[key]} {key}" for key in ("pending", "escalated", "decided") if key in counts
    ]
    if counts.get("in_force"):
        shown.append(f"{counts['in_force']} outcomes in force")
    return ", ".join(shown)


def _what(item: ItemOut) -> str:
    """What an item is about: the agent, or a binding or grant and the role it gives."""
    if item.source == "agent":
        return "agent"
    return f"{item.source} ({item.role})" if item.role else item.source


def _items_table(items: list[ItemOut]) -> None:
    table(
        ["item", "agent", "about", "recommendation", "status", "verdict", "reviewer", "due"],
        [
            (
                i.id,
                i.agent,
                _what(i),
                i.recommendation,
                i.status,
                "" if i.verdict is None else i.verdict.value,
                i.reviewer,
                _when(i.due_at),
            )
            for i in items
        ],
    )


def _show_campaign(campaign: CampaignOut) -> None:
    scope = ", ".join(f"{key}: {value}" for key, value in campaign.scope.items() if value)
    table(
        ["field", "value"],
        [
            ("id", campaign.id),
            ("name", campaign.name),
            ("kind", campaign.kind),
            ("status", campaign.status),
            ("scope", scope or "every agent"),
            ("window", f"{campaign.window_days:g} days"),
            ("reviewer", campaign.reviewer or "each agent's owner"),
            ("overdue", campaign.overdue.value),
            ("started", f"{_when(campaign.started_at)} by {campaign.started_by}"),
            ("due", _when(campaign.due_at)),
            (
                "closed",
                f"{_when(campaign.closed_at)} by {campaign.closed_by}"
                if campaign.closed_at
                else "",
            ),
            ("items", _counts(campaign)),
        ],
        wrap={"value"},
    )
    if campaign.items:
        out.print()
        _items_table(campaign.items)


_EVIDENCE_SHOWN_APART = frozenset({"permissions", "recommended_yaml"})
"""Evidence printed as its own table, or as the narrower role below."""


def _permissions_table(permissions: list[Any]) -> None:
    """Each permission of the role: what it grants, then what was used of it."""
    rows, used = [], []
    for permission in permissions:
        if not isinstance(permission, dict):
            continue
        usage = permission.get("usage") or {}
        index = f"[{permission.get('index', '')}]"
        rows.append(
            (
                index,
                permission.get("capability", ""),
                ", ".join(permission.get("actions") or ()),
                ", ".join(permission.get("resources") or ()) or "**",
                usage.get("uses", 0),
                str(usage.get("last_at") or "never")[:19],
            )
        )
        if usage.get("actions"):
            full = " (sample full)" if usage.get("sample_full") else ""
            on = ", ".join(usage.get("resources") or ())
            used.append(f"{index} used: {', '.join(usage['actions'])} on {on}{full}")
    table(["permission", "capability", "actions", "resources", "uses", "last use"], rows)
    for line in used:
        out.print(line, markup=False, soft_wrap=True)


def _show_item(item: ItemOut) -> None:
    rows: list[tuple[str, object]] = [
        ("id", item.id),
        ("campaign", item.campaign),
        ("agent", f"{item.agent} (risk {item.risk_tier.value})"),
        ("about", _what(item)),
        ("activation", item.activation or ""),
        ("reviewer", item.reviewer),
        ("due", _when(item.due_at)),
        ("status", item.status + (" (flagged)" if item.flagged else "")),
        ("recommendation", f"{item.recommendation}: {item.recommendation_reason}"),
    ]
    if item.verdict is not None:
        by = f"{item.decided_by} at {_when(item.decided_at)}"
        rows.append(("decision", f"{item.verdict.value} by {by}: {item.reason}"))
        if item.bulk:
            rows.append(("bulk", "yes"))
        if item.accepted_proposal:
            rows.append(("accepted proposal", item.accepted_proposal))
        if item.new_owner:
            rows.append(("new owner", item.new_owner))
        rows.append(("outcome", item.outcome))
    for key, value in sorted(item.evidence.items()):
        if key in _EVIDENCE_SHOWN_APART:
            continue
        shown = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
        rows.append((f"evidence: {key}", shown))
    table(["field", "value"], rows, wrap={"value"})
    permissions = item.evidence.get("permissions")
    if isinstance(permissions, list) and permissions:
        out.print()
        _permissions_table(permissions)
    for proposal in item.proposals:
        cited = "; ".join(proposal.evidence)
        out.print(
            f"\nproposal {proposal.id} (AI-drafted by {proposal.agent}, {_when(proposal.at)}): "
            f"{proposal.verdict.value}: {proposal.reason}"
            + (f" [cites: {cited}]" if cited else ""),
            markup=False,
        )
    if item.narrower is not None:
        out.print("\nnarrower role (reduce):", markup=False)
        out.print(
            yaml.safe_dump(item.narrower, sort_keys=False, default_flow_style=None).rstrip(),
            markup=False,
        )


@app.command()
def start(
    name: Annotated[str, typer.Argument(help="The campaign's name.", show_default=False)],
    window: Annotated[
        str | None,
        typer.Option(
            help="Look-back window of evidence, e.g. 30d (default: the server's).",
            show_default=False,
        ),
    ] = None,
    due: Annotated[
        str | None,
        typer.Option(
            help="Due in (14d), on a date (2026-12-31: its end, UTC) or at a time "
            "(default: the server's).",
            show_default=False,
        ),
    ] = None,
    agent: Annotated[
        list[str] | None,
        typer.Option("--agent", help="Only this agent (repeatable).", show_default=False),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            help="Only agents with this key=value label (repeatable).",
            show_default=False,
        ),
    ] = None,
    risk: Annotated[
        list[RiskTier] | None,
        typer.Option(
            "--risk", help="Only agents of this risk tier (repeatable).", show_default=False
        ),
    ] = None,
    owner: Annotated[
        list[str] | None,
        typer.Option(
            "--owner", help="Only agents this human owns (repeatable).", show_default=False
        ),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option(
            help="user:ID or group:NAME for every item (default: each agent's owner).",
            show_default=False,
        ),
    ] = None,
    overdue: Annotated[
        Overdue | None,
        typer.Option(
            help="What undecided items get at the due date (default: the server's).",
            show_default=False,
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Start a campaign (admins): one item per agent in scope and per binding or grant it
    holds, each with its evidence and a recommendation."""
    with parsing():
        if window is not None:
            parse_duration(window)
        due_at = None if due is None else parse_due(due)
        labels = _labels(label)
        _reviewer(reviewer)
    with client(server, token) as charter:
        campaign = charter.start_campaign(
            name,
            agents=agent,
            labels=labels,
            risk_tiers=risk,
            owners=owner,
            window=window.strip() if window else None,
            due_at=due_at,
            reviewer=reviewer,
            overdue=overdue.value if overdue else None,
        )

    def human() -> None:
        out.print(
            f"campaign {campaign.id} started: {campaign.name!r}, {_counts(campaign)}, "
            f"due {_when(campaign.due_at)}",
            markup=False,
        )
        out.print(f"next: charter reviews show {campaign.id}", markup=False)

    emit(campaign, as_json=as_json, human=human)


@app.command("list")
def list_campaigns(
    status: Annotated[
        CampaignStatus | None,
        typer.Option(help="Only campaigns in this status.", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List campaigns, newest first, with counts of the items you may see."""
    with client(server, token) as charter:
        campaigns = charter.list_campaigns(status=status.value if status else None).campaigns
    emit(
        campaigns,
        as_json=as_json,
        human=lambda: table(
            ["id", "name", "status", "items", "open", "decided", "in force", "due"],
            [
                (
                    c.id,
                    c.name,
                    c.status,
                    c.counts.get("items", 0),
                    c.counts.get("pending", 0) + c.counts.get("escalated", 0),
                    c.counts.get("decided", 0),
                    c.counts.get("in_force", 0),
                    _when(c.due_at),
                )
                for c in campaigns
            ],
            wrap={"name"},
        ),
    )


@app.command()
def show(
    campaign_id: CampaignId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a campaign and every item you may see: agent, binding, recommendation, status."""
    with parsing():
        _campaign_id(campaign_id)
    with client(server, token) as charter:
        campaign = charter.get_campaign(campaign_id)
    emit(campaign, as_json=as_json, human=lambda: _show_campaign(campaign))


@app.command()
def queue(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The open items you may decide now, soonest due first."""
    with client(server, token) as charter:
        items = charter.review_queue().items

    def human() -> None:
        if not items:
            out.print("nothing to review", markup=False)
            return
        _items_table(items)

    emit(items, as_json=as_json, human=human)


@app.command()
def item(
    item_id: ItemId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show one item: its evidence, recommendation and reason, the narrower role as YAML,
    and the agents' proposals."""
    with parsing():
        _item_id(item_id)
    with client(server, token) as charter:
        found = charter.get_review_item(item_id)
    emit(found, as_json=as_json, human=lambda: _show_item(found))


@app.command()
def decide(
    item_ids: Annotated[
        list[str], typer.Argument(help="One or more review item ids.", show_default=False)
    ],
    verdict: VerdictOption,
    reason: Reason,
    new_owner: Annotated[
        str | None,
        typer.Option(help="The new owner (user:ID), for reassign_owner.", show_default=False),
    ] = None,
    accept_proposal: Annotated[
        str | None,
        typer.Option(help="The proposal (rvp_...) this decision accepts.", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Decide one item, or several the same way (all or none, recorded as bulk); a
    revoke, reduce or make_eligible takes effect on the agent's next decision."""
    with parsing():
        for item_id in item_ids:
            _item_id(item_id)
        if accept_proposal is not None:
            _proposal_id(accept_proposal)
        if len(item_ids) > 1 and (new_owner or accept_proposal):
            raise InvalidInput(
                "--new-owner and --accept-proposal are for one item at a time",
                code=ErrorCode.INVALID_REQUEST,
                help="decide that item on its own",
            )
    with client(server, token) as charter:
        if len(item_ids) == 1:
            decided = [
                charter.decide_review_item(
                    item_ids[0],
                    verdict.value,
                    reason,
                    new_owner=new_owner,
                    accept_proposal=accept_proposal,
                )
            ]
        else:
            decided = charter.decide_review_items(item_ids, verdict.value, reason).items

    def human() -> None:
        for done in decided:
            outcome = "" if done.outcome == "none" else f" (outcome {done.outcome})"
            verdict_text = "" if done.verdict is None else done.verdict.value
            out.print(
                f"{done.id} {done.status}: {verdict_text}{outcome}, {done.agent} {_what(done)}",
                markup=False,
            )

    emit(decided[0] if len(item_ids) == 1 else decided, as_json=as_json, human=human)


@app.command()
def propose(
    item_id: ItemId,
    verdict: VerdictOption,
    reason: Reason,
    evidence: Annotated[
        list[str] | None,
        typer.Option(
            "--evidence", help="What the proposal cites (repeatable).", show_default=False
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Attach an agent's proposal to an item (an agent's token): it decides nothing; a
    human accepts it or decides otherwise."""
    with parsing():
        _item_id(item_id)
    with client(server, token) as charter:
        proposal = charter.propose_review(item_id, verdict.value, reason, evidence or [])
    line = (
        f"proposal {proposal.id} on {proposal.item}: {proposal.verdict.value} "
        f"(AI-drafted by {proposal.agent}; a human decides)"
    )
    emit(proposal, as_json=as_json, human=lambda: out.print(line, markup=False))


@app.command()
def close(
    campaign_id: CampaignId,
    reason: Reason,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Close a campaign (admins): items still open get its overdue default."""
    with parsing():
        _campaign_id(campaign_id)
    with client(server, token) as charter:
        campaign = charter.close_campaign(campaign_id, reason=reason)
    line = f"campaign {campaign.id} is {campaign.status}: {_counts(campaign)}"
    emit(campaign, as_json=as_json, human=lambda: out.print(line, markup=False))


@app.command()
def sweep(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Run the reviews' clock now (admins): due dates, recertification, hand-offs, and
    settling outcomes the active policy reflects."""
    with client(server, token) as charter:
        report = charter.run_review_sweep()
    emit(report, as_json=as_json, human=lambda: _show_sweep(report))


def _show_sweep(report: SweepOut) -> None:
    for label, ids in (
        ("recertification items", report.recertification_items),
        ("overdue", report.overdue),
        ("due soon", report.due_soon),
        ("handed off", report.handed_off),
        ("suspended", report.suspended),
        ("outcomes settled", report.settled),
    ):
        out.print(f"{label}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""), markup=False)


@app.command()
def outcomes(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List the outcomes in force: decisions applied on top of the policy until a
    revision reflects them (admins, auditors, policy admins)."""
    with client(server, token) as charter:
        items = charter.review_outcomes().items

    def human() -> None:
        if not items:
            out.print("no outcome in force", markup=False)
            return
        table(
            ["item", "campaign", "agent", "binding", "verdict", "decided"],
            [
                (
                    i.id,
                    i.campaign,
                    i.agent,
                    i.source,
                    "" if i.verdict is None else i.verdict.value,
                    f"{_when(i.decided_at)} by {i.decided_by}",
                )
                for i in items
            ],
        )

    emit(items, as_json=as_json, human=human)


# -- patch ---------------------------------------------------------------------------------


def patch_outcome(item: ItemOut) -> PatchOutcome | None:
    """The outcome an item in force puts on a binding, as ``charter.reviews.patch`` takes
    it (None for an item that puts none)."""
    from charter.policy.decision import WithdrawalKind
    from charter.reviews.narrow import role_from_document
    from charter.reviews.patch import PatchOutcome

    kinds = {kind.value: kind for kind in WithdrawalKind}
    if item.verdict is None or item.verdict.value not in kinds:
        return None
    if not item.source.startswith("Binding/"):
        return None
    kind = kinds[item.verdict.value]
    role = None
    if kind is WithdrawalKind.REDUCE and item.narrower is not None:
        role = role_from_document(item.narrower)
    return PatchOutcome(
        agent=item.agent,
        binding=item.source.removeprefix("Binding/"),
        kind=kind,
        campaign=item.campaign,
        item=item.id,
        role=role,
    )


def _labels_of(charter: Client, agents: set[str]) -> dict[str, dict[str, str]] | None:
    """Each agent's labels, for bindings that select by label; None when the caller may
    not read agents (the labels the policy declares are used then)."""
    labels: dict[str, dict[str, str]] = {}
    for agent in sorted(agents):
        try:
            labels[agent] = dict(charter.get_agent(agent).labels)
        except (PermissionDenied, NotFound):
            return None
    return labels


def _write(directory: Path, files: dict[str, str]) -> None:
    """Write ``files`` under ``directory``: every file to a temporary one first, then each
    put in place, so a failure to write leaves the directory as it was."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, written = tempfile.mkstemp(dir=target.parent, prefix=".charter-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            staged.append((Path(written), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def _policy_texts(directory: Path) -> dict[str, str]:
    from charter.policy.loader import read_files

    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory", code=ErrorCode.POLICY_NOT_FOUND)
    files = read_files(directory)
    if not files:
        raise InvalidInput(f"{directory} holds no .yaml files", code=ErrorCode.POLICY_NOT_FOUND)
    return files


@app.command("patch")
def patch_command(
    campaign_id: CampaignId,
    directory: Annotated[
        Path,
        typer.Argument(
            help="Policy directory to edit (default: the current one).", show_default=False
        ),
    ] = Path(),
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Write into a policy directory the changes that make a campaign's outcomes in force
    permanent (files edited in place, comments kept; new documents in
    reviews/CAMPAIGN.yaml); then review, commit and apply it."""
    from charter.reviews.patch import patch

    with parsing():
        _campaign_id(campaign_id)
    with handled():
        files = _policy_texts(directory)
    with client(server, token) as charter:
        items = [i for i in charter.review_outcomes().items if i.campaign == campaign_id]
        found = [(i, patch_outcome(i)) for i in items]
        wanted = [o for _, o in found if o is not None]
        labels = _labels_of(charter, {o.agent for o in wanted}) if wanted else None
    with handled():
        try:
            made: Patch = patch(files, wanted, labels=labels)
        except (KeyError, yaml.YAMLError) as error:
            raise InvalidInput(
                f"{directory} cannot be patched: {error}", code=ErrorCode.INVALID_POLICY
            ) from None
        _write(directory, {**made.changed, **made.added})
    report = {
        "campaign": campaign_id,
        "directory": str(directory),
        "outcomes": [o.item for o in wanted],
        "changed": sorted(made.changed),
        "added": sorted(made.added),
        "already_reflected": [o.item for o in made.skipped],
    }

    def human() -> None:
        if not wanted:
            out.print(f"nothing to patch: no outcome of {campaign_id} is in force", markup=False)
            return
        for name in sorted(made.changed):
            out.print(f"changed {directory / name}", markup=False)
        for name in sorted(made.added):
            out.print(f"added {directory / name}", markup=False)
        for skipped in made.skipped:
            out.print(
                f"already reflected: {skipped.item} ({skipped.kind.value} of "
                f"Binding/{skipped.binding} for {skipped.agent})",
                markup=False,
            )
        if made.changed or made.added:
            err.print(
                f"next: review the change (git -C {directory} diff), then "
                f"'charter policy diff {directory}' and 'charter policy apply {directory}'",
                markup=False,
            )

    emit(report, as_json=as_json, human=human)

"""``charter audit``: verify (offline or through the server), export, tail, checkpoints,
keys (public key, chain, rotation), and, for a sharded log, seal, export-segment and
verify-segment."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from charter.audit.checkpoints import Checkpoint, checkpoint_from_json
from charter.audit.evidence import EvidenceBundle, bundle_from_json, verify_bundle
from charter.audit.keychain import KeyLink, chain_from_json, chain_to_json
from charter.audit.ocsf import to_ocsf
from charter.cli.common import (
    AsJson,
    Exit,
    Server,
    Token,
    client,
    emit,
    group,
    handled,
    out,
    parsing,
)
from charter.cli.local import ConfigFile, DatabaseUrl, DataDir, local_settings
from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.identity.credentials import PrincipalKind
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.sdk.client import Client
from charter.version import __version__

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from charter.settings import Settings
    from charter.storage.ports import Store

__all__ = ["app"]

app = group(
    "The tamper-evident audit log: verify, export, tail, checkpoints, public-key, keys, "
    "rotate-key, evidence, verify-evidence, seal, export-segment, verify-segment."
)

AgentFilter = Annotated[
    str | None, typer.Option("--agent", help="Only this agent's records.", show_default=False)
]
TypeFilter = Annotated[
    list[str] | None, typer.Option("--type", help="Record type (repeatable).", show_default=False)
]


RootPublicKey = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The root PEM public key: checkpoints, seals and key rotations are checked "
        "from it (default: the one in the data dir).",
        show_default=False,
    ),
]
KeyChainFile = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="The chain of signing keys exported by 'charter audit keys', to use instead "
        "of the links the file carries.",
        show_default=False,
    ),
]


class ExportFormat(StrEnum):
    """What ``export`` writes, one line per record."""

    JSONL = "jsonl"
    OCSF = "ocsf"


class TailFormat(StrEnum):
    """What ``tail`` prints, one line per record."""

    TEXT = "text"
    JSON = "json"
    OCSF = "ocsf"


def _ocsf_line(record: dict[str, Any]) -> str:
    """One record as one OCSF event, one JSON line."""
    return json.dumps(to_ocsf(record, product_version=__version__), sort_keys=True)


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def _show_report(report: dict[str, Any]) -> None:
    if report["ok"]:
        out.print(
            f"audit log OK: {report['records']} records, root {report['root'][:16]}…, "
            f"{report['checkpoints_verified']} signed checkpoint(s) verified, "
            f"{report['unsealed_records']} record(s) after the last checkpoint",
            markup=False,
        )
    else:
        problem = report["problem"]
        shard = "" if problem.get("shard") is None else f"shard {problem['shard']!r} "
        out.print(
            f"audit log BROKEN at {shard}record {problem['seq']} [{problem['code']}]: "
            f"{problem['message']}",
            markup=False,
        )
    for shard in report.get("shards", []):
        name = shard["shard"] or "(default)"
        out.print(
            f"  shard {name}: {shard['records']} records ({shard['pruned']} exported and "
            f"pruned), {shard['sealed']} sealed, root {str(shard['root'])[:16]}…",
            markup=False,
        )
    if "seals_verified" in report:
        out.print(f"  {report['seals_verified']} seal(s) verified", markup=False)
    for note in report.get("notes", []):
        out.print(f"note: {note}", markup=False)


@app.command()
def verify(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    public_key: RootPublicKey = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            "--checkpoints",
            help="JSON Lines of checkpoints kept outside the store (from 'charter audit "
            "checkpoints'); each must still be in the store and match the log.",
            show_default=False,
        ),
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Ask the server to verify instead.")
    ] = False,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Verify the whole log; names the first edited, missing or moved record (exit 3)."""
    if online:
        with client(server, token) as charter:
            report = charter.verify_audit()
    else:
        from charter.service.audit import AuditService
        from charter.storage.keyfile import load_public_key

        # The store first: a data directory without one is `store_not_initialised`,
        # whatever else is missing from it.
        with _local_store(data_dir, database_url, config) as (settings, store):
            trusted = _read_checkpoints(checkpoints) if checkpoints else []
            key = load_public_key(public_key or settings.public_key)
            service = AuditService(store, _no_clock, public_key=key)
            report = service.verify_store(trusted=trusted).to_json()
    emit(report, as_json=as_json, human=lambda: _show_report(report))
    if not report["ok"]:
        raise typer.Exit(Exit.NO)


@contextmanager
def _local_store(
    data_dir: Path | None, database_url: str | None, config: Path | None = None
) -> Iterator[tuple[Settings, Store]]:
    """The settings and the existing store they name (closed after), errors handled."""
    from charter.storage.sql import open_existing_store

    with handled():
        settings = local_settings(data_dir, database_url, config=config)
        store = open_existing_store(settings.store_url)
        try:
            yield settings, store
        finally:
            store.close()


def _read_checkpoints(path: Path) -> list[Checkpoint]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror}", code=ErrorCode.CHECKPOINTS_UNREADABLE
        ) from None
    try:
        return [checkpoint_from_json(json.loads(line)) for line in lines if line.strip()]
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}", code=ErrorCode.CHECKPOINTS_INVALID) from None


@app.command()
def checkpoints(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Print every signed checkpoint as JSON Lines, to keep outside the store."""
    with client(server, token) as charter:
        for checkpoint in charter.list_checkpoints():
            sys.stdout.write(json.dumps(checkpoint, sort_keys=True) + "\n")


def _no_clock() -> datetime:
    raise RuntimeError("offline verification reads no clock")


@app.command()
def export(
    agent: AgentFilter = None,
    record_type: TypeFilter = None,
    since: Annotated[datetime | None, typer.Option(show_default=False)] = None,
    until: Annotated[datetime | None, typer.Option(show_default=False)] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default stdout).", show_default=False),
    ] = None,
    export_format: Annotated[
        ExportFormat,
        typer.Option("--format", help="jsonl: the records as stored; ocsf: OCSF events."),
    ] = ExportFormat.JSONL,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Export records as JSON Lines (or OCSF events, one a line), oldest first."""
    line = _ocsf_line if export_format is ExportFormat.OCSF else _json_line
    with client(server, token) as charter:
        sink = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            for record in charter.iter_audit(
                agent=agent, types=record_type, since=since, until=until, limit=1000
            ):
                sink.write(line(record) + "\n")
        finally:
            if output:
                sink.close()


def _what(record: dict[str, Any]) -> str:
    """What a record decided or changed, for the records that carry a request: the
    outcome, then the capability, action and resource."""
    data = record.get("data") or {}
    if record["type"] == "decision":
        request = data.get("request") or {}
        outcome = str(data.get("decision", "?")).upper()
        code = data.get("code")
        because = f" ({code})" if code and code != data.get("decision") else ""
        asked = " ".join(str(request.get(key, "?")) for key in ("capability", "action", "resource"))
        return f" {outcome}{because} {asked}"
    approval = data.get("approval")
    if isinstance(approval, dict):
        asked = " ".join(
            str(approval.get(key, "?")) for key in ("capability", "action", "resource")
        )
        return f" {approval.get('status', '?')} {asked}"
    if record["type"] == "auth.failed":
        return f" {data.get('code', '?')} {data.get('where', '?')}"
    return ""


def _line(record: dict[str, Any]) -> str:
    who = f" agent={record['agent']}" if record.get("agent") else ""
    subject = f" subject={record['subject']}" if record.get("subject") else ""
    return (
        f"{record['seq']:>6} {record['at']} {record['type']:<22} {record['actor']}"
        f"{_what(record)}{who}{subject}"
    )


@app.command()
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000)] = 20,
    agent: AgentFilter = None,
    record_type: TypeFilter = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between polls.")] = 1.0,
    tail_format: Annotated[
        TailFormat,
        typer.Option("--format", help="text, json (the records) or ocsf (OCSF events)."),
    ] = TailFormat.TEXT,
    after: Annotated[
        int | None,
        typer.Option(
            "--after",
            min=-1,
            help="Print every record after this sequence number (instead of the last -n).",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="File holding the last sequence number printed: read to resume (as "
            "--after), rewritten after each record.",
            show_default=False,
        ),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Print the latest records; with --follow, keep printing new ones."""
    shown = TailFormat.JSON if as_json and tail_format is TailFormat.TEXT else tail_format
    render = {TailFormat.TEXT: _line, TailFormat.JSON: _json_line, TailFormat.OCSF: _ocsf_line}[
        shown
    ]
    if state is not None:
        with parsing():
            resumed = _read_state(state)
        after = resumed if resumed is not None else after

    def show(record: dict[str, Any]) -> None:
        if shown is TailFormat.TEXT:
            out.print(render(record), markup=False)
        else:
            # Machine lines go straight to stdout, flushed, for a shipper reading a pipe.
            sys.stdout.write(render(record) + "\n")
            sys.stdout.flush()
        if state is not None:
            _write_state(state, record["seq"])

    with client(server, token) as charter:
        last_seq = -1
        if after is not None:
            for record in _after(charter, after, agent, record_type):
                show(record)
                last_seq = record["seq"]
            last_seq = max(last_seq, after)
        else:
            for record in _latest(charter, lines, agent, record_type):
                show(record)
                last_seq = record["seq"]
        while follow:
            time.sleep(interval)
            for record in _after(charter, last_seq, agent, record_type):
                show(record)
                last_seq = record["seq"]


def _latest(
    charter: Client, lines: int, agent: str | None, types: list[str] | None
) -> list[dict[str, Any]]:
    """The last ``lines`` records matching the filters."""
    latest: deque[dict[str, Any]] = deque(maxlen=lines)
    cursor: str | None = None
    while True:
        page = charter.query_audit(agent=agent, types=types, limit=1000, cursor=cursor)
        latest.extend(page.records)
        if page.next_cursor is None:
            return list(latest)
        cursor = page.next_cursor


def _after(
    charter: Client, seq: int, agent: str | None, types: list[str] | None
) -> Iterator[dict[str, Any]]:
    """Every record past ``seq`` matching the filters, a page at a time."""
    while True:
        page = charter.query_audit(agent=agent, types=types, limit=1000, after=seq)
        yield from page.records
        if page.next_cursor is None or not page.records:
            return
        seq = page.records[-1]["seq"]


def _read_state(path: Path) -> int | None:
    """The sequence number a ``--state`` file holds; None when it does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror}", code=ErrorCode.INVALID_INPUT
        ) from None
    if not text.lstrip("-").isdigit() or len(text) > 19 or int(text) < -1:
        raise InvalidInput(
            f"{path} does not hold a sequence number (found {text[:40]!r})",
            code=ErrorCode.INVALID_INPUT,
        )
    return int(text)


def _write_state(path: Path, seq: int) -> None:
    """Record ``seq`` as printed: written beside the file, then renamed over it, so a
    crash leaves the old number or the new one, never half of either."""
    fresh = path.with_name(path.name + ".tmp")
    try:
        fresh.write_text(f"{seq}\n", encoding="utf-8")
        os.replace(fresh, path)
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {path}: {exc.strerror}", code=ErrorCode.INVALID_INPUT
        ) from None


@app.command("public-key")
def public_key_command(
    data_dir: DataDir = None,
    online: Annotated[bool, typer.Option("--online", help="Fetch it from the server.")] = False,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Print the PEM public key that verifies checkpoint signatures."""
    if online:
        with client(server, token) as charter:
            sys.stdout.write(charter.audit_public_key())
        return
    with handled():
        settings = local_settings(data_dir, None)
        from charter.storage.keyfile import load_public_key, public_key_pem

        sys.stdout.write(public_key_pem(load_public_key(settings.public_key)))


@app.command()
def evidence(
    seq: Annotated[
        list[int],
        typer.Option("--seq", min=0, help="A record to cite (repeatable).", show_default=False),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default stdout).", show_default=False),
    ] = None,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Write an evidence bundle citing records, with proofs against a signed checkpoint."""
    with client(server, token) as charter:
        bundle = charter.audit_evidence(seq)
    text = json.dumps(bundle, indent=2, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    with handled():
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {output}: {exc.strerror}", code=ErrorCode.INVALID_INPUT
            ) from None


def _read_bundle(path: Path) -> EvidenceBundle:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(
            f"cannot read {path}: {why}", code=ErrorCode.EVIDENCE_UNREADABLE
        ) from None
    try:
        value = json.loads(text)
        # A JSON compliance report carries its bundle under "evidence".
        if isinstance(value, dict) and isinstance(value.get("evidence"), dict):
            value = value["evidence"]
        return bundle_from_json(value)
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}", code=ErrorCode.EVIDENCE_INVALID) from None


def _show_evidence(report: dict[str, Any]) -> None:
    if report["ok"]:
        out.print(
            f"evidence OK: {report['records']} record(s) are in the log signed at "
            f"{report['tree_size']} records, root {report['root'][:16]}…, key {report['key_id']}",
            markup=False,
        )
        return
    problem = report["problem"]
    where = "" if problem["seq"] is None else f" at record {problem['seq']}"
    out.print(f"evidence FAILS{where} [{problem['code']}]: {problem['message']}", markup=False)


@app.command("verify-evidence")
def verify_evidence(
    bundle: Annotated[
        Path, typer.Argument(help="The evidence bundle, or a JSON compliance report.")
    ],
    public_key: RootPublicKey = None,
    keys: KeyChainFile = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Check offline that every record a bundle cites is in the signed log (exit 3 if not)."""
    with parsing():
        read = _read_bundle(bundle)
        chain = _read_chain(keys) if keys is not None else None
    report = verify_bundle(read, _root_key(public_key, data_dir), chain).to_json()
    emit(report, as_json=as_json, human=lambda: _show_evidence(report))
    if not report["ok"]:
        raise typer.Exit(Exit.NO)


def _root_key(path: Path | None, data_dir: Path | None) -> Ed25519PublicKey:
    """The root public key: ``path``, or the data dir's."""
    from charter.storage.keyfile import load_public_key

    with handled():
        return load_public_key(path or local_settings(data_dir, None).public_key)


def _read_chain(path: Path) -> list[KeyLink]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"cannot read {path}: {why}", code=ErrorCode.KEY_CHAIN_INVALID) from None
    try:
        return chain_from_json(json.loads(text))
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}", code=ErrorCode.KEY_CHAIN_INVALID) from None


@app.command()
def keys(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    online: Annotated[bool, typer.Option("--online", help="Fetch it from the server.")] = False,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Print the chain of audit signing keys as JSON, for offline verifiers ('--keys')."""
    if online:
        with client(server, token) as charter:
            chain = charter.audit_key_chain()
    else:
        from charter.service.audit import AuditService

        with _local_store(data_dir, database_url, config) as (_, store):
            links = AuditService(store, _no_clock).key_chain()
        chain = {**chain_to_json(links), "current_key_id": links[-1].key_id if links else None}
    sys.stdout.write(json.dumps(chain, indent=2, sort_keys=True) + "\n")


@app.command("rotate-key")
def rotate_key(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    as_json: AsJson = False,
) -> None:
    """Make a new audit signing key; the current one signs the hand-over (audited).

    Run where the store and the current key are (as for 'charter admin-token'); then copy
    the new key file beside CHARTER_SIGNING_KEY on every other server.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from charter.audit.checkpoints import key_id
    from charter.service import Services
    from charter.storage.keyfile import (
        key_finder,
        load_signing_key,
        rotated_key_path,
        write_signing_key,
    )

    with _local_store(data_dir, database_url, config) as (settings, store):
        own = load_signing_key(settings.signing_key)
        new = Ed25519PrivateKey.generate()
        path = rotated_key_path(settings.signing_key, key_id(new.public_key()))
        services = Services.build(store, settings=settings, signing_key=own)
        services.audit.find_keys_with(key_finder(settings.signing_key, own))
        # The new key is on disk before the store names it current: a rotation
        # never leaves a chain whose current key exists nowhere.
        write_signing_key(path, new)
        try:
            link = services.audit.rotate_key(KEY_ROTATION, new)
        except BaseException:
            path.unlink(missing_ok=True)
            path.with_suffix(".pub").unlink(missing_ok=True)
            raise
    body = {
        **link.to_json(),
        "key_file": str(path),
        "public_key_file": str(path.with_suffix(".pub")),
    }
    emit(body, as_json=as_json, human=lambda: _show_rotation(body))


def _show_rotation(body: dict[str, Any]) -> None:
    out.print(
        f"audit signing key rotated at record {body['seq']}: {body['previous_key_id']} -> "
        f"{body['key_id']}",
        markup=False,
    )
    out.print(f"new key: {body['key_file']} (mode 0600)", markup=False)
    out.print(
        "copy it beside CHARTER_SIGNING_KEY on every other server sharing this store; "
        "verifiers keep the root public key and use 'charter audit keys'",
        markup=False,
    )


KEY_ROTATION = Principal(
    kind=PrincipalKind.HUMAN,
    id="system:key-rotation",
    credential_id="-",
    roles=frozenset({HumanRole.ADMIN}),
)
"""The actor of ``charter audit rotate-key``: an operator holding the store and the key."""


ShardName = Annotated[
    str,
    typer.Option("--shard", help="The shard (default: the default log, '').", show_default=False),
]


@app.command()
def seal(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Seal every shard's head now with the current signing key of the data dir (servers
    do it at each checkpoint interval); prints the seal, or nothing new."""
    from charter.clock import system_clock
    from charter.service.audit import AuditService
    from charter.storage.keyfile import key_finder, load_signing_key

    with _local_store(data_dir, database_url) as (settings, store):
        key = load_signing_key(settings.signing_key)
        service = AuditService(store, system_clock, signing_key=key)
        # After a rotation, the key the chain names current (beside the root's file).
        service.find_keys_with(key_finder(settings.signing_key, key))
        sealed = service.seal()
    shown: dict[str, Any] = {"sealed": None if sealed is None else sealed.to_json()}
    emit(
        shown,
        as_json=as_json,
        human=lambda: out.print(
            "nothing new to seal"
            if sealed is None
            else f"seal {sealed.number}: "
            + ", ".join(
                f"{name or '(default)'} {head.size}" for name, head in sorted(sealed.shards.items())
            ),
            markup=False,
        ),
    )


@app.command("export-segment")
def export_segment(
    output: Annotated[Path, typer.Option("--output", "-o", help="The segment file to write.")],
    shard: ShardName = "",
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            min=1,
            help="Export up to this sealed size (default: the newest seal's).",
            show_default=False,
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Then delete the exported records from the store (kept verifiable)."
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Write a shard's records up to a sealed size to a file that verifies offline
    ('charter audit verify-segment'); with --prune, delete them from the store."""
    import hashlib
    from dataclasses import replace

    from charter.clock import system_clock
    from charter.service.audit import AuditService

    with _local_store(data_dir, database_url) as (_, store):
        service = AuditService(store, system_clock)
        document, row = service.export_segment(shard, size=size, prune=prune)
        text = json.dumps(document, sort_keys=True, indent=1) + "\n"
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {output}: {exc.strerror}", code=ErrorCode.INVALID_INPUT
            ) from None
        # Only once the file is written are the records deleted.
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        service.record_segment(replace(row, digest=digest))
    shown = {
        "shard": row.shard,
        "start": row.start,
        "end": row.end,
        "seal": row.seal_number,
        "pruned": row.pruned,
        "file": str(output),
        "sha256": digest,
    }
    emit(
        shown,
        as_json=as_json,
        human=lambda: out.print(
            f"exported records {row.start}..{row.end - 1} of shard {row.shard or '(default)'} "
            f"(seal {row.seal_number}) to {output}"
            + (", and deleted them from the store" if row.pruned else ""),
            markup=False,
        ),
    )


@app.command("verify-segment")
def verify_segment_command(
    segment: Annotated[Path, typer.Argument(help="A file from 'charter audit export-segment'.")],
    public_key: RootPublicKey = None,
    keys: KeyChainFile = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Check offline that a segment's records are exactly the ones sealed, by keys the
    root key vouches for (exit 3 if not)."""
    from charter.audit.segments import verify_segment

    with parsing():
        try:
            document = json.loads(segment.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(
                f"cannot read {segment}: {exc}", code=ErrorCode.INVALID_INPUT
            ) from None
        chain = _read_chain(keys) if keys is not None else None
    key = _root_key(public_key, data_dir)
    report: dict[str, Any] = verify_segment(document, key, chain).to_json()

    def human() -> None:
        if report["ok"]:
            out.print(
                f"segment OK: records {report['start']}..{report['end'] - 1} of shard "
                f"{report['shard'] or '(default)'} make the root seal {report['seal']} signed",
                markup=False,
            )
            return
        problem = report["problem"]
        out.print(
            f"segment FAILS at record {problem['index']} [{problem['code']}]: {problem['message']}",
            markup=False,
        )

    emit(report, as_json=as_json, human=human)
    if not report["ok"]:
        raise typer.Exit(Exit.NO)

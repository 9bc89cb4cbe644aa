"""Seals: one Ed25519 signature over every shard's (size, root) at a moment.

A sharded log keeps one Merkle tree per shard, so no writer waits for another shard's.
A seal ties them together again: it commits the whole log to what each shard held when
it was made, as a checkpoint commits one tree. Seals are numbered from 0; each covers
every shard the one before it covered, never with fewer records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.audit.checkpoints import key_id
from charter.audit.records import canonical_json
from charter.clock import format_time

__all__ = ["Seal", "ShardHead", "seal_from_json", "seal_holds", "sign_seal"]

_DOMAIN = b"charter-audit-seal/v1\n"


@dataclass(frozen=True, slots=True)
class ShardHead:
    """One shard's tree as a seal records it."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Seal:
    """A signed statement of every shard's size and root."""

    number: int
    at: datetime
    key_id: str
    shards: Mapping[str, ShardHead]
    signature: bytes

    def body(self) -> str:
        """The canonical JSON the signature covers (with the domain prefix)."""
        return seal_body(self.number, self.at, self.key_id, self.shards)

    def to_json(self) -> dict[str, object]:
        """The seal as exported."""
        return {
            "number": self.number,
            "at": format_time(self.at),
            "key_id": self.key_id,
            "shards": {
                name: {"size": head.size, "root": head.root.hex()}
                for name, head in sorted(self.shards.items())
            },
            "signature": self.signature.hex(),
        }


def seal_body(number: int, at: datetime, kid: str, shards: Mapping[str, ShardHead]) -> str:
    """The canonical body of a seal."""
    return canonical_json(
        {
            "v": 1,
            "number": number,
            "at": format_time(at),
            "key_id": kid,
            "shards": {
                name: {"size": head.size, "root": head.root.hex()} for name, head in shards.items()
            },
        }
    )


def sign_seal(
    private_key: Ed25519PrivateKey, number: int, shards: Mapping[str, ShardHead], at: datetime
) -> Seal:
    """Seal ``shards`` as seal ``number``."""
    kid = key_id(private_key.public_key())
    body = seal_body(number, at, kid, shards)
    signature = private_key.sign(_DOMAIN + body.encode("utf-8"))
    return Seal(number, at, kid, dict(shards), signature)


def seal_holds(seal: Seal, public_key: Ed25519PublicKey) -> bool:
    """True when ``seal`` was signed by the key matching ``public_key``."""
    if seal.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(seal.signature, _DOMAIN + seal.body().encode("utf-8"))
    except InvalidSignature:
        return False
    return True


def seal_from_json(value: Mapping[str, Any]) -> Seal:
    """Read a seal as ``Seal.to_json`` wrote it; raise ``ValueError`` if malformed."""
    try:
        at = datetime.strptime(str(value["at"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        shards = {
            str(name): ShardHead(int(head["size"]), bytes.fromhex(str(head["root"])))
            for name, head in dict(value["shards"]).items()
        }
        return Seal(
            number=int(value["number"]),
            at=at,
            key_id=str(value["key_id"]),
            shards=shards,
            signature=bytes.fromhex(str(value["signature"])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a Charter seal: {exc}") from None


def seal_from_row(number: int, body: str, signature: bytes) -> Seal:
    """Read a stored seal: its canonical body and signature."""
    parsed = json.loads(body)
    parsed["signature"] = signature.hex()
    if int(parsed["number"]) != number:
        raise ValueError(f"seal {number}'s body names seal {parsed['number']}")
    return seal_from_json(parsed)

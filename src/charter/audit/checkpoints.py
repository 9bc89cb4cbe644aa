"""Signed checkpoints: an Ed25519 signature over the log's size and root at a moment.

A checkpoint commits the log to everything it held at ``tree_size``: rewriting any of
those records, even with every hash recomputed, changes the root, and without the
private key no one can sign the new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from charter.clock import format_time

__all__ = [
    "Checkpoint",
    "checkpoint_from_json",
    "checkpoint_message",
    "key_id",
    "sign_checkpoint",
    "signature_holds",
]


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(tree_size: int, root: bytes, at: datetime, kid: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return (
        f"charter-audit-checkpoint/v1\n{kid}\n{tree_size}\n{root.hex()}\n{format_time(at)}\n"
    ).encode("ascii")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the log had ``tree_size`` records with root ``root``."""

    tree_size: int
    root: bytes
    at: datetime
    key_id: str
    signature: bytes

    def to_json(self) -> dict[str, object]:
        """The checkpoint as exported."""
        return {
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "at": format_time(self.at),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }


def checkpoint_from_json(value: Mapping[str, Any]) -> Checkpoint:
    """Read a checkpoint as ``Checkpoint.to_json`` wrote it; raise ``ValueError`` if malformed."""
    try:
        at = datetime.strptime(str(value["at"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return Checkpoint(
            tree_size=int(value["tree_size"]),
            root=bytes.fromhex(str(value["root"])),
            at=at,
            key_id=str(value["key_id"]),
            signature=bytes.fromhex(str(value["signature"])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a Charter checkpoint: {exc}") from None


def sign_checkpoint(
    private_key: Ed25519PrivateKey, tree_size: int, root: bytes, at: datetime
) -> Checkpoint:
    """Sign the log's current size and root."""
    kid = key_id(private_key.public_key())
    signature = private_key.sign(checkpoint_message(tree_size, root, at, kid))
    return Checkpoint(tree_size, root, at, kid, signature)


def signature_holds(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True when ``checkpoint`` was signed by the key matching ``public_key``."""
    if checkpoint.key_id != key_id(public_key):
        return False
    message = checkpoint_message(
        checkpoint.tree_size, checkpoint.root, checkpoint.at, checkpoint.key_id
    )
    try:
        public_key.verify(checkpoint.signature, message)
    except InvalidSignature:
        return False
    return True

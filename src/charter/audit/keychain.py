"""The chain of audit signing keys: each rotation is a link signed by the retiring key.

A link says "the key ``previous_key_id`` hands over to ``key_id`` at record ``seq``", and
is signed by the previous key. It is itself the audit record at ``seq`` (type
``audit.key_rotated``), so the Merkle tree seals it like any other record. Starting from
the root key (the one ``charter init`` made, kept by verifiers), a verifier walks the
links in order and learns which key may sign which checkpoints and seals:

- the root key signs checkpoints of size up to the first link's ``seq``;
- a key introduced by the link at ``seq`` signs checkpoints of size ``seq + 1`` and more,
  up to the ``seq`` of the link that retires it.

So a checkpoint signed by a key no link vouches for, by a key whose link does not hold,
or by a key after its retirement (a stolen old key) fails verification.

On a sharded log (docs/scaling.md) links are records of the default shard only, and a
link's ``seq`` is its *place in the default shard's tree* (its ``index``; on a log that
was never sharded, the same number as its ``seq``). A seal over every shard is placed in
the chain by the size of the default shard it seals, exactly as a checkpoint by its
size: the key that retires at a link signs seals of the default shard up to the link,
the key it introduces signs the seals after.

The default shard's size alone does not bound the other shards, so a link also records
(``sealed``, under its signature) every shard's size in the last seal the retiring key
signed. A seal of a retired key holds only if it names the default shard and covers
every shard it names at no more than that size (a shard the link does not name: not
at all). A link written before ``sealed`` existed bounds the default shard only, and its
key's seals may name no other shard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from charter.audit.checkpoints import Checkpoint, key_id, signature_holds
from charter.audit.seals import Seal, seal_holds
from charter.clock import format_time

__all__ = [
    "DEFAULT_TREE",
    "KEY_CHAIN_FORMAT",
    "KEY_ROTATED",
    "KeyLink",
    "KeyRing",
    "Sealed",
    "chain_from_json",
    "chain_links",
    "chain_to_json",
    "link_from_json",
    "links_before",
    "sign_link",
]

KEY_ROTATED = "audit.key_rotated"
"""The audit record type of a link in the chain of signing keys."""
KEY_CHAIN_FORMAT = "charter-key-chain/v1"
MAX_LINKS = 10_000
"""Links one exported chain may hold."""
DEFAULT_TREE = ""
"""The shard whose tree holds the links (the default log): a link's ``seq`` is its place
there, and a checkpoint's or seal's place in the chain is its size there."""
MAX_SEALED = 10_000
"""Shards one link may name in ``sealed``."""

Sealed = Mapping[str, int]
"""Each shard's size in the last seal a retiring key signed, by shard name."""


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def link_message(
    seq: int,
    previous_key_id: str,
    previous: bytes,
    new_key_id: str,
    new: bytes,
    at: datetime,
    sealed: Sealed | None = None,
) -> bytes:
    """The exact bytes a link's signature covers (v2 with ``sealed``, v1 without, as
    links were signed before it existed: dropping it from a link breaks the signature)."""
    version = "v1" if sealed is None else "v2"
    text = (
        f"charter-audit-key-rotation/{version}\n{seq}\n{previous_key_id}\n{previous.hex()}\n"
        f"{new_key_id}\n{new.hex()}\n{format_time(at)}\n"
    )
    if sealed is not None:
        text += json.dumps(dict(sealed), sort_keys=True, separators=(",", ":")) + "\n"
    return text.encode("ascii")


@dataclass(frozen=True, slots=True)
class KeyLink:
    """The previous key vouching for the next one, from record ``seq`` on."""

    seq: int
    at: datetime
    previous_key_id: str
    previous_public_key: bytes
    key_id: str
    public_key: bytes
    signature: bytes
    sealed: Sealed | None = None
    """Each shard's size in the last seal the retiring key signed ({} when it signed
    none); None in a link written before this was recorded."""

    def message(self) -> bytes:
        """What the signature covers."""
        return link_message(
            self.seq,
            self.previous_key_id,
            self.previous_public_key,
            self.key_id,
            self.public_key,
            self.at,
            self.sealed,
        )

    def to_json(self) -> dict[str, Any]:
        """The link as the audit record's data, the API and ``charter audit keys`` show it."""
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "previous_key_id": self.previous_key_id,
            "previous_public_key": self.previous_public_key.hex(),
            "key_id": self.key_id,
            "public_key": self.public_key.hex(),
            "signature": self.signature.hex(),
            **({} if self.sealed is None else {"sealed": dict(sorted(self.sealed.items()))}),
        }


def sign_link(
    previous: Ed25519PrivateKey,
    new: Ed25519PublicKey,
    seq: int,
    at: datetime,
    sealed: Sealed | None = None,
) -> KeyLink:
    """The link by which ``previous`` hands over to ``new`` at record ``seq``, having
    last sealed each shard at the size ``sealed`` gives."""
    old_public = previous.public_key()
    unsigned = KeyLink(
        seq,
        at,
        key_id(old_public),
        _raw(old_public),
        key_id(new),
        _raw(new),
        b"",
        None if sealed is None else dict(sealed),
    )
    return replace(unsigned, signature=previous.sign(unsigned.message()))


def _hex(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or len(value) > 256:
        raise ValueError(f"{what} is not a hex string")
    raw = bytes.fromhex(value)
    if size is not None and len(raw) != size:
        raise ValueError(f"{what} is not {size} bytes")
    return raw


def link_from_json(value: Any) -> KeyLink:
    """Read a link as ``KeyLink.to_json`` wrote it; ``ValueError`` says what is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError("a key link is a JSON object")
    try:
        seq = value["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("seq is not a sequence number")
        at = datetime.strptime(str(value["at"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return KeyLink(
            seq=seq,
            at=at,
            previous_key_id=str(value["previous_key_id"])[:64],
            previous_public_key=_hex(value["previous_public_key"], "previous_public_key", 32),
            key_id=str(value["key_id"])[:64],
            public_key=_hex(value["public_key"], "public_key", 32),
            signature=_hex(value["signature"], "signature", 64),
            sealed=_sealed(value.get("sealed")),
        )
    except KeyError as missing:
        raise ValueError(f"the key link has no {missing}") from None


def _sealed(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > MAX_SEALED:
        raise ValueError(f"sealed is not an object of at most {MAX_SEALED} shard sizes")
    sealed: dict[str, int] = {}
    for shard, size in value.items():
        if not isinstance(shard, str) or len(shard) > 64 or not shard.isascii():
            raise ValueError("sealed names a shard that cannot be one")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"sealed gives shard {shard!r} a size that is not one")
        sealed[shard] = size
    return sealed


def chain_to_json(links: Iterable[KeyLink]) -> dict[str, Any]:
    """The chain as exported for offline verifiers."""
    return {"format": KEY_CHAIN_FORMAT, "links": [link.to_json() for link in links]}


def chain_from_json(value: Any) -> list[KeyLink]:
    """Read an exported chain; ``ValueError`` says what is malformed."""
    if not isinstance(value, Mapping) or value.get("format") != KEY_CHAIN_FORMAT:
        raise ValueError(f"not a key chain (expected format {KEY_CHAIN_FORMAT})")
    return chain_links(value.get("links"), "links")


def chain_links(value: Any, what: str = "key_chain") -> list[KeyLink]:
    """Read a list of links (a bundle's or a segment's ``key_chain``); ``ValueError``."""
    if not isinstance(value, list) or len(value) > MAX_LINKS:
        raise ValueError(f"{what} must be a list of at most {MAX_LINKS} key links")
    return [link_from_json(link) for link in value]


def links_before(links: Iterable[KeyLink], seal: Seal) -> list[KeyLink]:
    """The links a verifier needs for ``seal``: those inside the default tree it seals."""
    head = seal.shards.get(DEFAULT_TREE)
    size = 0 if head is None else head.size
    return [link for link in links if link.seq < size]


@dataclass(frozen=True, slots=True)
class _Key:
    public_key: Ed25519PublicKey
    first_size: int
    """The smallest checkpoint size it may sign."""
    retired_at: int | None = None
    """The seq of the link that retired it: it signs sizes up to this one."""
    sealed: Sealed | None = None
    """What the link retiring it says it last sealed (None: a link from before that)."""


class KeyRing:
    """The keys a root key vouches for, learnt link by link in sequence order."""

    def __init__(self, root: Ed25519PublicKey) -> None:
        self.root_key_id = key_id(root)
        self.current_key_id = self.root_key_id
        self._keys: dict[str, _Key] = {self.root_key_id: _Key(root, 0)}

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    @property
    def rotations(self) -> int:
        """How many links were accepted."""
        return len(self._keys) - 1

    def accept(self, link: KeyLink, seq: int | None = None) -> str | None:
        """Add the key ``link`` vouches for; why not (a broken link) otherwise.

        ``seq`` is where the link was found in the log, when it was: it must be the one
        it was signed for."""
        if seq is not None and link.seq != seq:
            return f"the key link at record {seq} was signed for record {link.seq}"
        current = self._keys[self.current_key_id]
        if link.previous_key_id != self.current_key_id or link.previous_public_key != _raw(
            current.public_key
        ):
            return (
                f"the key link at record {link.seq} hands over from key {link.previous_key_id}, "
                f"but the current key is {self.current_key_id}"
            )
        if link.seq < current.first_size:
            return f"the key link at record {link.seq} comes before its key was introduced"
        try:
            current.public_key.verify(link.signature, link.message())
            new = Ed25519PublicKey.from_public_bytes(link.public_key)
        except (InvalidSignature, ValueError):
            return (
                f"the key link at record {link.seq} is not signed by the key it retires "
                f"({self.current_key_id})"
            )
        if key_id(new) != link.key_id or link.key_id in self._keys:
            return f"the key link at record {link.seq} names a key id that does not fit"
        self._keys[self.current_key_id] = _Key(
            current.public_key, current.first_size, link.seq, link.sealed
        )
        self._keys[link.key_id] = _Key(new, link.seq + 1)
        self.current_key_id = link.key_id
        return None

    def _in_force(
        self, kid: str, size: int, what: str, kind: str
    ) -> Ed25519PublicKey | tuple[str, str]:
        """The public key of ``kid`` if the chain lets it sign ``what`` (something of
        ``kind``, checkpoint or seal, covering ``size`` records of the default tree);
        ``(code, message)`` otherwise."""
        known = self._keys.get(kid)
        if known is None:
            return (
                f"{kind}_signature_invalid",
                f"{what} was signed by key {kid}, which is neither the root key "
                f"{self.root_key_id} nor one it vouches for",
            )
        if known.retired_at is not None and size > known.retired_at:
            return (
                f"{kind}_key_retired",
                f"{what} was signed by key {kid}, retired at record {known.retired_at}",
            )
        if size < known.first_size:
            return (
                f"{kind}_signature_invalid",
                f"{what} was signed by key {kid}, introduced only at record {known.first_size - 1}",
            )
        return known.public_key

    def problem(self, checkpoint: Checkpoint) -> tuple[str, str] | None:
        """``(code, message)`` when ``checkpoint`` is not signed by a key of the chain
        valid at its size; None when it holds."""
        what = f"the checkpoint at size {checkpoint.tree_size}"
        found = self._in_force(checkpoint.key_id, checkpoint.tree_size, what, "checkpoint")
        if isinstance(found, tuple):
            return found
        if not signature_holds(checkpoint, found):
            return ("checkpoint_signature_invalid", f"{what} has a bad signature")
        return None

    def seal_problem(self, seal: Seal) -> tuple[str, str] | None:
        """``(code, message)`` when ``seal`` is not signed by a key of the chain in force
        at the size of the default tree it seals (where the links are) or, for a retired
        key, covers a shard beyond what the key had sealed when it retired; None when it
        holds. Codes: ``seal_signature_invalid``, ``seal_key_retired``."""
        head = seal.shards.get(DEFAULT_TREE)
        size = 0 if head is None else head.size
        what = f"seal {seal.number} (over {size} records of the default shard)"
        found = self._in_force(seal.key_id, size, what, "seal")
        if isinstance(found, tuple):
            return found
        beyond = self._beyond_retirement(seal, self._keys[seal.key_id])
        if beyond is not None:
            return ("seal_key_retired", f"{what} was signed by key {seal.key_id}, {beyond}")
        if not seal_holds(seal, found):
            return ("seal_signature_invalid", f"{what} has a bad signature")
        return None

    @staticmethod
    def _beyond_retirement(seal: Seal, known: _Key) -> str | None:
        """Why ``seal``, signed by ``known``, covers more than that key had sealed when it
        retired; None when the key is current or the seal stays within its last seal."""
        if known.retired_at is None:
            return None
        retired = f"retired at record {known.retired_at}"
        if DEFAULT_TREE not in seal.shards:
            return f"{retired}, and it does not name the default shard"
        # A link from before ``sealed`` bounds the default shard only: fail closed on others.
        bounds = {DEFAULT_TREE: known.retired_at} if known.sealed is None else known.sealed
        for shard, head in sorted(seal.shards.items()):
            limit = bounds.get(shard)
            if limit is None:
                return f"{retired}, and it covers shard {shard!r}, which that key never sealed"
            if head.size > limit:
                return (
                    f"{retired}, and it covers {head.size} records of shard {shard!r}, "
                    f"which that key had sealed only up to {limit}"
                )
        return None

    def signs(self, checkpoint: Checkpoint) -> bool:
        """True when the signature holds for a key of the chain, whatever its period."""
        known = self._keys.get(checkpoint.key_id)
        return known is not None and signature_holds(checkpoint, known.public_key)

"""An append-only RFC 6962 Merkle tree, kept as its right-hand frontier.

Leaf hash = SHA-256(0x00 ‖ entry); node hash = SHA-256(0x01 ‖ left ‖ right). A tree of
``n`` leaves is the tree of its largest power-of-two prefix joined with the tree of the
rest, so it can be summarised by the roots of the perfect subtrees that make up ``n``
(its *frontier*: one per set bit of ``n``, largest first). Appending a leaf merges equal
subtrees; the root is the frontier folded from the right. Appends cost O(log n) and the
frontier is all a writer needs to keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "tree_root",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """Hash of a leaf: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """Root of the tree over already-hashed ``leaves``, straight from RFC 6962 §2.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(tree_root(leaves[:split]), tree_root(leaves[split:]))


@dataclass(frozen=True, slots=True)
class Frontier:
    """The roots of the perfect subtrees that make up a tree of ``size`` leaves."""

    size: int
    hashes: tuple[bytes, ...]

    @classmethod
    def empty(cls) -> Frontier:
        """The frontier of the empty tree."""
        return cls(0, ())

    def append(self, leaf: bytes) -> Frontier:
        """Return the frontier after appending one leaf hash."""
        hashes = [*self.hashes, leaf]
        # Each trailing 1-bit of the old size is a subtree the new leaf completes.
        size = self.size
        while size & 1:
            right = hashes.pop()
            left = hashes.pop()
            hashes.append(node_hash(left, right))
            size >>= 1
        return Frontier(self.size + 1, tuple(hashes))

    def root(self) -> bytes:
        """The Merkle tree hash of the whole tree."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def is_consistent(self) -> bool:
        """True when the number of subtrees matches the set bits of ``size``."""
        return len(self.hashes) == self.size.bit_count()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (RFC 6962's ``k``), for size > 1."""
    return 1 << ((size - 1).bit_length() - 1)


class MerkleTree:
    """A tree over already-hashed leaves that can prove any leaf is in it (RFC 6962 §2.1.1).

    Subtree roots of at least ``CACHED`` leaves are remembered, so proving many leaves of
    one tree hashes the large shared subtrees once.
    """

    CACHED = 256

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._leaves = leaves
        self._roots: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        """How many leaves the tree has."""
        return len(self._leaves)

    def root(self) -> bytes:
        """The Merkle tree hash of every leaf."""
        return self._root(0, len(self._leaves))

    def _root(self, start: int, end: int) -> bytes:
        size = end - start
        if size == 0:
            return EMPTY_ROOT
        if size == 1:
            return self._leaves[start]
        known = self._roots.get((start, end))
        if known is not None:
            return known
        middle = start + _split(size)
        root = node_hash(self._root(start, middle), self._root(middle, end))
        if size >= self.CACHED:
            self._roots[(start, end)] = root
        return root

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``: sibling subtree roots, nearest the leaf first."""
        if not 0 <= index < len(self._leaves):
            raise ValueError(f"leaf {index} is not in a tree of {len(self._leaves)} leaves")
        path: list[bytes] = []
        start, end = 0, len(self._leaves)
        while end - start > 1:
            middle = start + _split(end - start)
            if index < middle:
                path.append(self._root(middle, end))
                end = middle
            else:
                path.append(self._root(start, middle))
                start = middle
        path.reverse()
        return path


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root that ``proof`` leads to from ``leaf`` at ``index`` in a tree of ``size``
    leaves (RFC 9162 §2.1.3.2), or None when the proof cannot fit such a tree.

    The caller compares the result with a root it trusts (a signed checkpoint's).
    """
    if not 0 <= index < size:
        return None
    fn, sn, root = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            root = node_hash(root, sibling)
        fn >>= 1
        sn >>= 1
    return root if sn == 0 else None

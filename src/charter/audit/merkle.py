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

__all__ = ["EMPTY_ROOT", "Frontier", "leaf_hash", "node_hash", "tree_root"]

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

"""The Merkle frontier against the RFC 6962 definition and the published CT test vectors."""

from __future__ import annotations

import hashlib

import pytest

from charter.audit.merkle import EMPTY_ROOT, Frontier, leaf_hash, node_hash, tree_root

# The reference inputs and roots used by Certificate Transparency implementations
# (e.g. trillian's merkle/testonly/constants.go): tree of the first n inputs -> root.
CT_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(count: int) -> list[bytes]:
    """``count`` distinct leaf hashes."""
    return [leaf_hash(f"entry {index}".encode()) for index in range(count)]


def frontier_of(hashes: list[bytes]) -> Frontier:
    frontier = Frontier.empty()
    for leaf in hashes:
        frontier = frontier.append(leaf)
    return frontier


def test_empty_root_is_sha256_of_nothing() -> None:
    expected = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert hashlib.sha256(b"").digest() == expected
    assert expected == EMPTY_ROOT
    assert tree_root([]) == expected
    assert Frontier.empty().root() == expected


@pytest.mark.parametrize("size", range(1, len(CT_INPUTS) + 1))
def test_roots_match_the_certificate_transparency_vectors(size: int) -> None:
    hashes = [leaf_hash(entry) for entry in CT_INPUTS[:size]]
    assert tree_root(hashes).hex() == CT_ROOTS[size - 1]
    assert frontier_of(hashes).root().hex() == CT_ROOTS[size - 1]


def test_frontier_agrees_with_the_recursive_definition_for_every_size_to_70() -> None:
    hashes = leaves(70)
    frontier = Frontier.empty()
    for size in range(71):
        assert frontier.size == size
        assert frontier.is_consistent()
        assert frontier.root() == tree_root(hashes[:size]), f"size {size}"
        if size < 70:
            frontier = frontier.append(hashes[size])


@pytest.mark.parametrize("size", [127, 128, 129, 1000, 1023, 1024, 1025, 4097])
def test_frontier_agrees_with_the_recursive_definition_for_large_sizes(size: int) -> None:
    hashes = leaves(size)
    frontier = frontier_of(hashes)
    assert frontier.size == size
    assert len(frontier.hashes) == size.bit_count()
    assert frontier.root() == tree_root(hashes)


def test_append_leaves_the_original_frontier_unchanged() -> None:
    first = frontier_of(leaves(3))
    root = first.root()
    grown = first.append(leaf_hash(b"more"))
    assert (first.size, first.root()) == (3, root)
    assert grown.size == 4
    assert grown.root() != root


def test_every_leaf_and_its_position_change_the_root() -> None:
    hashes = leaves(9)
    root = tree_root(hashes)
    for index in range(len(hashes)):
        edited = list(hashes)
        edited[index] = leaf_hash(b"forged")
        assert tree_root(edited) != root, f"leaf {index}"
    swapped = [hashes[1], hashes[0], *hashes[2:]]
    assert tree_root(swapped) != root


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # Presenting an interior node's children as a leaf must not give the node's hash,
    # or a two-leaf tree could pass for a one-leaf tree (second pre-image).
    assert leaf_hash(left + right) != node_hash(left, right)
    assert leaf_hash(b"\x01" + left + right) != node_hash(left, right)
    assert leaf_hash(b"") != hashlib.sha256(b"").digest()


def test_inconsistent_frontier_is_detected() -> None:
    frontier = frontier_of(leaves(4))  # one perfect subtree
    assert frontier.is_consistent()
    assert not Frontier(frontier.size + 1, frontier.hashes).is_consistent()
    assert not Frontier(frontier.size, frontier.hashes[:-1]).is_consistent()

"""The audit signing key on disk: created once with mode 0600, refused if others can read it.

``CHARTER_SIGNING_KEY`` names the server's own key (``charter init`` made it). It signs
checkpoints until the first rotation and seeds the secrets the server derives from it
(webhook signing secrets, secret fingerprints), so it stays in place for good. Each key
``charter audit rotate-key`` makes lives beside it, named by its key id
(``audit-signing.<key id>.key``, with its ``.pub``): a server signs with whichever of
them the chain in the store names current, and copying that one file to a server is
all it needs to sign again after a rotation.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from charter.audit.checkpoints import key_id
from charter.codes import ErrorCode
from charter.errors import StoreError

__all__ = [
    "create_signing_key",
    "key_finder",
    "load_public_key",
    "load_signing_key",
    "public_key_pem",
    "rotated_key_path",
    "write_signing_key",
]


def public_key_pem(key: Ed25519PublicKey) -> str:
    """The public key as PEM text."""
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Create a new key at ``path`` (mode 0600) and its public half at ``path.pub``."""
    key = Ed25519PrivateKey.generate()
    write_signing_key(path, key)
    return key


def write_signing_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to a new file ``path`` (mode 0600, never over an existing one) and
    its public half beside it."""
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StoreError(
            f"a signing key already exists at {path}", code=ErrorCode.SIGNING_KEY_EXISTS
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    path.with_suffix(".pub").write_text(public_key_pem(key.public_key()))


def rotated_key_path(own: Path, kid: str) -> Path:
    """Where the key ``kid`` made by a rotation lives: beside the server's own key."""
    return own.with_name(f"{own.stem}.{kid}.key")


def key_finder(own: Path, own_key: Ed25519PrivateKey) -> Callable[[str], Ed25519PrivateKey | None]:
    """Find a signing key by key id: the server's own, or a rotated one beside it (read
    when first needed, so a key copied in while the server runs is found)."""
    found: dict[str, Ed25519PrivateKey] = {key_id(own_key.public_key()): own_key}

    def find(kid: str) -> Ed25519PrivateKey | None:
        if kid in found:
            return found[kid]
        if not kid.isalnum():
            return None
        path = rotated_key_path(own, kid)
        if not path.exists():
            return None
        key = load_signing_key(path)
        if key_id(key.public_key()) != kid:
            raise StoreError(
                f"{path} does not hold the key {kid}", code=ErrorCode.SIGNING_KEY_INVALID
            )
        found[kid] = key
        return key

    return find


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the private key, refusing a missing, foreign or group/world-readable file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise StoreError(
            f"no audit signing key at {path}",
            code=ErrorCode.SIGNING_KEY_MISSING,
            help="run 'charter init' to create one, or set CHARTER_SIGNING_KEY",
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(
            f"the audit signing key {path} is readable by others (mode {stat.filemode(mode)})",
            code=ErrorCode.SIGNING_KEY_EXPOSED,
            help=f"chmod 600 {path}",
        )
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise StoreError(
            f"{path} is not an unencrypted PEM private key", code=ErrorCode.SIGNING_KEY_INVALID
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StoreError(
            f"{path} is not an Ed25519 private key", code=ErrorCode.SIGNING_KEY_INVALID
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load an exported public key (PEM)."""
    try:
        key = load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise StoreError(f"no public key at {path}", code=ErrorCode.PUBLIC_KEY_MISSING) from None
    except ValueError:
        raise StoreError(
            f"{path} is not a PEM public key", code=ErrorCode.PUBLIC_KEY_INVALID
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise StoreError(f"{path} is not an Ed25519 public key", code=ErrorCode.PUBLIC_KEY_INVALID)
    return key

"""Where Charter keeps its state: small ports, and their SQL implementation."""

from charter.storage.ports import (
    AgentStore,
    AuditQuery,
    AuditStore,
    CredentialStore,
    HumanStore,
    Store,
    UnitOfWork,
)

__all__ = [
    "AgentStore",
    "AuditQuery",
    "AuditStore",
    "CredentialStore",
    "HumanStore",
    "Store",
    "UnitOfWork",
]

"""The tamper-evident audit log: records, the Merkle tree, checkpoints and verification."""

from charter.audit.checkpoints import Checkpoint, key_id, sign_checkpoint, signature_holds
from charter.audit.merkle import Frontier, leaf_hash, node_hash, tree_root
from charter.audit.records import AuditEntry, AuditRecord, canonical_json, seal
from charter.audit.verify import VerifyProblem, VerifyReport, verify_log

__all__ = [
    "AuditEntry",
    "AuditRecord",
    "Checkpoint",
    "Frontier",
    "VerifyProblem",
    "VerifyReport",
    "canonical_json",
    "key_id",
    "leaf_hash",
    "node_hash",
    "seal",
    "sign_checkpoint",
    "signature_holds",
    "tree_root",
    "verify_log",
]

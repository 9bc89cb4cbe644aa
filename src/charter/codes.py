"""Every stable code Charter answers with, named once: error codes and decision codes.

``ErrorCode`` is the ``code`` of a ``CharterError`` and of the HTTP error shape
``{"error": {"code", ...}}``; ``DecisionCode`` is the ``code`` of a decision, which says
why the evaluator (or the server around it) answered as it did. Both are ``StrEnum``s:
a member *is* its string (``ErrorCode.FORBIDDEN == "forbidden"``), JSON holds the bare
string, and callers keep matching on plain strings. Some values are in both, because a
decision's code travels on as an error's (``guard`` raises ``Denied`` with it, a grant
refused on re-check answers ``no_policy``). The docs test checks that every member is
documented (``docs/api.md``, ``docs/policy.md``) and every documented code is a member.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DecisionCode", "ErrorCode"]


class DecisionCode(StrEnum):
    """Why a decision is what it is (``Decision.code``, ``DecisionOut.code``)."""

    ALLOWED = "allowed"
    INVALID_REQUEST = "invalid_request"
    AGENT_UNKNOWN = "agent_unknown"
    AGENT_SUSPENDED = "agent_suspended"
    AGENT_RETIRED = "agent_retired"
    AGENT_GOVERNANCE = "agent_governance"
    NO_POLICY = "no_policy"
    STEP_UP_UNAVAILABLE = "step_up_unavailable"
    LEAKED_SECRET = "leaked_secret"
    INVALID_PROVENANCE = "invalid_provenance"
    GUARDRAIL = "guardrail"
    REQUIREMENT_UNMET = "requirement_unmet"
    NO_PERMISSION = "no_permission"
    REVOKED_BY_REVIEW = "revoked_by_review"
    EXCESS_FIELDS = "excess_fields"
    APPROVAL_REQUIRED = "approval_required"
    STEP_UP_REQUIRED = "step_up_required"


class ErrorCode(StrEnum):
    """What went wrong (``CharterError.code``, the HTTP error body's ``code``)."""

    # Family defaults (``charter.errors``, ``PolicyInvalid``).
    CHARTER_ERROR = "charter_error"
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    DENIED = "denied"
    APPROVAL_PENDING = "approval_pending"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAVAILABLE = "unavailable"
    STORE_ERROR = "store_error"
    INVALID_POLICY = "invalid_policy"

    # The HTTP layer and the web framework.
    MALFORMED_JSON = "malformed_json"
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    BAD_REQUEST = "bad_request"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"
    INVALID_CURSOR = "invalid_cursor"
    CURSOR_AND_AFTER = "cursor_and_after"

    # Authentication.
    TOKEN_MISSING = "token_missing"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    AGENT_SUSPENDED = "agent_suspended"
    AGENT_RETIRED = "agent_retired"
    HUMAN_INACTIVE = "human_inactive"

    # The web console.
    SESSION_MISSING = "session_missing"
    SESSION_INVALID = "session_invalid"
    SESSION_EXPIRED = "session_expired"
    CSRF_FAILED = "csrf_failed"
    CONSOLE_FOR_PEOPLE = "console_for_people"

    # Agents, humans, tokens.
    AGENT_EXISTS = "agent_exists"
    AGENT_NOT_FOUND = "agent_not_found"
    HUMAN_EXISTS = "human_exists"
    HUMAN_NOT_FOUND = "human_not_found"
    TOKEN_NOT_FOUND = "token_not_found"
    INVALID_AGENT_ID = "invalid_agent_id"
    INVALID_HUMAN_ID = "invalid_human_id"
    INVALID_LABELS = "invalid_labels"
    INVALID_EMAIL = "invalid_email"
    INVALID_GROUPS = "invalid_groups"
    INVALID_TTL = "invalid_ttl"
    TTL_TOO_LONG = "ttl_too_long"
    INVALID_TRANSITION = "invalid_transition"
    UNKNOWN_OWNER = "unknown_owner"
    OWNER_INACTIVE = "owner_inactive"
    REINSTATE_NEEDS_ADMIN = "reinstate_needs_admin"
    LAST_ADMIN = "last_admin"
    USE_DEACTIVATE = "use_deactivate"

    # Policies and decisions.
    POLICY_CHANGES_AGENT = "policy_changes_agent"
    POLICY_NAMES_AUTHOR = "policy_names_author"
    POLICY_UNUSABLE = "policy_unusable"
    POLICY_NOT_FOUND = "policy_not_found"
    REVISION_NOT_FOUND = "revision_not_found"
    AGENT_REQUIRED = "agent_required"
    NO_POLICY = "no_policy"

    # Approvals and grants.
    APPROVAL_NOT_FOUND = "approval_not_found"
    APPROVAL_CLOSED = "approval_closed"
    APPROVAL_EXPIRED = "approval_expired"
    APPROVAL_DENIED = "approval_denied"
    APPROVAL_CANCELLED = "approval_cancelled"
    APPROVAL_REQUIRED = "approval_required"
    STEP_UP_REQUIRED = "step_up_required"
    ALREADY_VOTED = "already_voted"
    REASON_REQUIRED = "reason_required"
    NOT_AN_APPROVER = "not_an_approver"
    FOUR_EYES = "four_eyes"
    NOT_ON_BEHALF_OF = "not_on_behalf_of"
    GRANT_NOT_FOUND = "grant_not_found"
    GRANT_REFUSED = "grant_refused"
    GRANT_REVOKED = "grant_revoked"
    SEPARATION_OF_DUTY = "separation_of_duty"

    # Access reviews.
    CAMPAIGN_NOT_FOUND = "campaign_not_found"
    REVIEW_ITEM_NOT_FOUND = "review_item_not_found"
    CAMPAIGN_CLOSED = "campaign_closed"
    ITEM_DECIDED = "item_decided"
    VERDICT_NOT_APPLICABLE = "verdict_not_applicable"
    OWN_REVIEW_ITEM = "own_review_item"
    PROPOSAL_NOT_FOUND = "proposal_not_found"
    NOT_A_REVIEWER = "not_a_reviewer"
    EMPTY_CAMPAIGN = "empty_campaign"
    INVALID_REVIEWER = "invalid_reviewer"
    INVALID_DUE_DATE = "invalid_due_date"
    TOO_MANY_ITEMS = "too_many_items"

    # Webhooks.
    INVALID_WEBHOOK_URL = "invalid_webhook_url"
    WEBHOOK_TARGET_FORBIDDEN = "webhook_target_forbidden"
    INVALID_WEBHOOK_EVENTS = "invalid_webhook_events"
    INVALID_DESCRIPTION = "invalid_description"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    WEBHOOK_REMOVED = "webhook_removed"
    TOO_MANY_WEBHOOKS = "too_many_webhooks"
    WEBHOOK_KEY_MISSING = "webhook_key_missing"

    # Secrets.
    LEAK_VALUE_OR_FINGERPRINT = "leak_value_or_fingerprint"
    INVALID_FINGERPRINT = "invalid_fingerprint"
    INVALID_SECRET = "invalid_secret"
    INVALID_LEAK_REPORT = "invalid_leak_report"
    INPUT_TOO_DEEP = "input_too_deep"
    INPUT_TOO_COMPLEX = "input_too_complex"
    FINGERPRINT_KEY_MISSING = "fingerprint_key_missing"
    LEAK_NOT_FOUND = "leak_not_found"

    # Posture.
    INVALID_POSTURE_FILTER = "invalid_posture_filter"

    # The store, keys and settings.
    STORE_UNAVAILABLE = "store_unavailable"
    STORE_NOT_INITIALISED = "store_not_initialised"
    STALE_CORE = "stale_core"
    AUDIT_HEAD_CORRUPT = "audit_head_corrupt"
    INVALID_DATABASE_URL = "invalid_database_url"
    SIGNING_KEY_MISSING = "signing_key_missing"
    SIGNING_KEY_EXISTS = "signing_key_exists"
    SIGNING_KEY_EXPOSED = "signing_key_exposed"
    SIGNING_KEY_INVALID = "signing_key_invalid"
    SIGNING_KEY_RETIRED = "signing_key_retired"
    KEY_CHAIN_INVALID = "key_chain_invalid"
    PUBLIC_KEY_MISSING = "public_key_missing"
    PUBLIC_KEY_INVALID = "public_key_invalid"
    INVALID_SETTING = "invalid_setting"
    INVALID_DURATION = "invalid_duration"

    # The SDK and the CLI.
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    INVALID_RESPONSE = "invalid_response"
    INVALID_GUARD = "invalid_guard"
    UNSAFE_RESOURCE_ARGUMENT = "unsafe_resource_argument"
    # The MCP gateway.
    INVALID_GATEWAY_CONFIG = "invalid_gateway_config"
    UNKNOWN_TOOL = "unknown_tool"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    INVALID_PROVENANCE = "invalid_provenance"
    INVALID_TIMEOUT = "invalid_timeout"
    INVALID_FIELDS = "invalid_fields"
    INVALID_INPUT_JSON = "invalid_input_json"
    INVALID_ARGUMENTS = "invalid_arguments"
    INVALID_CONTEXT = "invalid_context"
    INVALID_CAPABILITY = "invalid_capability"
    ALREADY_INITIALISED = "already_initialised"
    NOT_AN_ADMIN = "not_an_admin"
    CHECKPOINTS_UNREADABLE = "checkpoints_unreadable"
    CHECKPOINTS_INVALID = "checkpoints_invalid"
    # Evidence bundles and compliance reports.
    AUDIT_RECORD_NOT_FOUND = "audit_record_not_found"
    AUDIT_LOG_BROKEN = "audit_log_broken"
    EVIDENCE_UNREADABLE = "evidence_unreadable"
    EVIDENCE_INVALID = "evidence_invalid"
    UNKNOWN_FRAMEWORK = "unknown_framework"

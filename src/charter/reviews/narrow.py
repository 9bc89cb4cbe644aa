"""Narrowing a role to what was used: the "reduce" recommendation's proposal.

A used permission keeps its capability, ``fields``, ``onExcessFields`` and ``when``; its
actions become the exact actions used, and its resources the exact resources used, each
kept only if the original permission matched it. So the narrower permission allows
everything that was used in the window and nothing the original did not: every action
it names matched an original action pattern, every resource an original resource
pattern, and the rest of the permission is unchanged. A permission whose sample is full
(``sample_full``) is never narrowed, since the sample is not the whole story; an unused
permission is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import yaml

from charter.policy.globs import ACTION, RESOURCE, GlobSyntax, any_of
from charter.policy.model import Capability, ExcessFields, Permission, Role
from charter.reviews.usage import PermissionUsage

__all__ = [
    "NarrowedRole",
    "Outcome",
    "narrow_permission",
    "narrow_role",
    "role_document",
    "role_from_document",
    "role_yaml",
]


class Outcome(StrEnum):
    """What narrowing did to one permission."""

    UNCHANGED = "unchanged"
    """Used as granted, or nothing narrower can be proved from the sample."""
    NARROWED = "narrowed"
    SAMPLE_FULL = "sample_full"
    """Kept as granted: its sample of actions or resources overflowed."""
    DROPPED = "dropped"
    """Never used: left out."""


@dataclass(frozen=True, slots=True)
class NarrowedRole:
    """A role cut down to what was used, and what happened to each permission."""

    role: Role
    """The narrower role, same name; its permissions keep their original order."""
    outcomes: tuple[Outcome, ...]
    """One per permission of the original role, by index."""

    @property
    def changed(self) -> bool:
        """True when the narrower role allows less than the original."""
        return any(o in (Outcome.NARROWED, Outcome.DROPPED) for o in self.outcomes)


def _matcher(syntax: GlobSyntax, patterns: Sequence[str]) -> Callable[[str], bool]:
    return any_of([syntax.compile(pattern) for pattern in patterns])


def _narrowed(syntax: GlobSyntax, patterns: Sequence[str], used: Sequence[str]) -> tuple[str, ...]:
    """The used names the patterns match, in the patterns' order: a literal pattern
    stays where it was; a wildcard gives way to the names it matched, sorted."""
    used_set = set(used)
    result: list[str] = []
    for pattern in patterns:
        glob = syntax.compile(pattern)
        if glob.literal:
            names = [pattern] if pattern in used_set else []
        else:
            names = sorted(name for name in used_set if glob.matches(name))
        result.extend(name for name in names if name not in result)
    return tuple(result)


def narrow_permission(
    permission: Permission, usage: PermissionUsage | None
) -> tuple[Permission | None, Outcome]:
    """The narrower form of ``permission`` given its ``usage`` (None: never used)."""
    if usage is None or usage.count <= 0:
        return None, Outcome.DROPPED
    if usage.sample_full:
        return permission, Outcome.SAMPLE_FULL
    action_ok = _matcher(ACTION, permission.actions)
    used_actions = [action for action in usage.actions if action_ok(action)]
    if permission.resources:
        resource_ok = _matcher(RESOURCE, permission.resources)
        used_resources = [resource for resource in usage.resources if resource_ok(resource)]
    else:
        used_resources = list(usage.resources)
    if not used_actions or not used_resources:
        # Used, but the sample names nothing this permission grants: nothing to go on.
        return permission, Outcome.UNCHANGED
    actions = _narrowed(ACTION, permission.actions, used_actions)
    resources = _narrowed(RESOURCE, permission.resources or ("**",), used_resources)
    narrower = replace(permission, actions=actions, resources=resources)
    if set(actions) == set(permission.actions) and set(resources) == set(permission.resources):
        return permission, Outcome.UNCHANGED
    return narrower, Outcome.NARROWED


def narrow_role(role: Role, usage_of: Callable[[int], PermissionUsage | None]) -> NarrowedRole:
    """``role`` narrowed permission by permission; ``usage_of(i)`` is the usage of
    ``permissions[i]``, or None if it was never used."""
    kept: list[Permission] = []
    outcomes: list[Outcome] = []
    for index, permission in enumerate(role.permissions):
        narrower, outcome = narrow_permission(permission, usage_of(index))
        outcomes.append(outcome)
        if narrower is not None:
            kept.append(narrower)
    return NarrowedRole(replace(role, permissions=tuple(kept)), tuple(outcomes))


def _permission_document(permission: Permission) -> dict[str, Any]:
    body: dict[str, Any] = {
        "capability": permission.capability.value,
        "actions": list(permission.actions),
    }
    if permission.resources:
        body["resources"] = list(permission.resources)
    if permission.fields is not None:
        body["fields"] = list(permission.fields)
    if permission.on_excess_fields is not ExcessFields.REDACT:
        body["onExcessFields"] = permission.on_excess_fields.value
    if permission.when is not None:
        body["when"] = permission.when
    return body


def role_document(role: Role) -> dict[str, Any]:
    """``role`` as a policy document (``kind: Role``), a plain mapping."""
    return {
        "apiVersion": "charter/v1",
        "kind": "Role",
        "metadata": {"name": role.name},
        "spec": {"permissions": [_permission_document(p) for p in role.permissions]},
    }


def role_from_document(document: Mapping[str, Any]) -> Role:
    """The role ``role_document`` wrote (kept with a review item, read back to apply)."""
    permissions = tuple(
        Permission(
            capability=Capability(body["capability"]),
            actions=tuple(body["actions"]),
            resources=tuple(body.get("resources", ())),
            fields=None if body.get("fields") is None else tuple(body["fields"]),
            when=body.get("when"),
            on_excess_fields=ExcessFields(body.get("onExcessFields", ExcessFields.REDACT.value)),
        )
        for body in document["spec"]["permissions"]
    )
    return Role(name=document["metadata"]["name"], permissions=permissions)


def role_yaml(role: Role) -> str:
    """``role`` as a policy document (``kind: Role``), ready for a policy repository."""
    document = role_document(role)
    return yaml.safe_dump(
        document, sort_keys=False, default_flow_style=None, width=10_000, allow_unicode=False
    )

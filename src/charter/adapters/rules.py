"""``ToolRule``: how a framework's tool call becomes a Charter decision request.

A tool call is a name and a mapping of arguments. By default it asks to ``do`` the
action named after the tool on the resource ``tools/<name>``, and sends the arguments
as the input the server scans for secrets. A rule per tool says otherwise, with the
same vocabulary as ``charter.guard``: a resource template filled from the arguments
(one path segment per placeholder), fields, context and resource attributes as values
or callables of the arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from charter.policy.model import Capability
from charter.sdk.arguments import (
    Arguments,
    ResourceTemplate,
    capability_of,
    field_names,
    input_source,
    refuse,
    source,
)

__all__ = ["DEFAULT_RESOURCE", "Arguments", "ToolRule", "rule_for"]

DEFAULT_RESOURCE = "tools/{tool}"
"""The resource a tool call is about when its rule names none."""

# A tool's arguments are whatever the model sent: any placeholder may name one, and a
# missing one is refused when the call is decided (a deny), not when the rule is made.
_OPEN = {"arguments": inspect.Parameter("arguments", inspect.Parameter.VAR_KEYWORD)}


@dataclass(frozen=True)
class ToolRule:
    """How calls of one tool are asked about.

    ``action`` defaults to the tool's name and ``resource`` to ``tools/<tool name>``;
    ``resource`` may be a template (``"crm/customer/{customer_id}"``, placeholders name
    arguments and fill one segment each) or a callable of the arguments. ``fields`` is a
    list, the name of the argument holding the list, or a callable; ``context`` and
    ``resource_attributes`` a mapping or a callable; ``input`` what the server scans for
    secrets: the arguments (``True``), nothing (``False``) or a callable's result.
    """

    capability: Capability | str = Capability.DO
    action: str | None = None
    resource: str | Callable[[Arguments], str] | None = None
    fields: Sequence[str] | str | Callable[[Arguments], Sequence[str]] = ()
    context: Mapping[str, Any] | Callable[[Arguments], Mapping[str, Any]] | None = None
    resource_attributes: Mapping[str, Any] | Callable[[Arguments], Mapping[str, Any]] | None = None
    input: bool | Callable[[Arguments], Any] = True
    _parts: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        resource = self.resource
        parts = {
            "capability": capability_of(self.capability),
            "resource": ResourceTemplate(resource, _OPEN)
            if isinstance(resource, str)
            else resource,
            "fields": self.fields,
            "context": source(self.context, "context", {}),
            "attributes": source(self.resource_attributes, "resource_attributes", {}),
            "input": input_source(self.input),
        }
        if self.action is not None and not self.action:
            raise refuse("action= must name the action, or be left out to use the tool's name")
        object.__setattr__(self, "_parts", parts)

    def request(self, tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The ``decide`` arguments for one call of ``tool`` with ``arguments``."""
        args: Arguments = MappingProxyType(dict(arguments))
        parts = self._parts
        make_resource = parts["resource"]
        if make_resource is None:
            resource = DEFAULT_RESOURCE.format(tool=tool)
        else:
            resource = make_resource(args)
        fields = parts["fields"]
        if isinstance(fields, str):
            fields = args.get(fields, ())
        elif callable(fields):
            fields = fields(args)
        context, attributes = parts["context"](args), parts["attributes"](args)
        if not isinstance(context, Mapping) or not isinstance(attributes, Mapping):
            raise refuse("context= and resource_attributes= must give mappings")
        make_input = parts["input"]
        return {
            "capability": parts["capability"],
            "action": self.action or tool,
            "resource": resource,
            "fields": field_names(fields),
            "context": dict(context),
            "resource_attributes": dict(attributes),
            "input": None if make_input is None else make_input(args),
        }


def rule_for(tool: str, rules: Mapping[str, ToolRule], default: ToolRule) -> ToolRule:
    """The rule for ``tool``: its own, or the default every other tool follows."""
    return rules.get(tool, default)

"""Shapes of the names Charter accepts: agent ids, human ids, groups, labels."""

from __future__ import annotations

import re
from collections.abc import Mapping

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = [
    "AGENT_ID_PATTERN",
    "GROUP_PATTERN",
    "HUMAN_ID_PATTERN",
    "LABEL_KEY_PATTERN",
    "LABEL_VALUE_PATTERN",
    "MAX_LABELS",
    "check_agent_id",
    "check_human_id",
    "check_labels",
]

AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
HUMAN_ID_PATTERN = r"^user:[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9_-])?$"
"""``user:`` and 1-63 of ``a-z 0-9 . _ -``, starting with a letter or digit and not ending
in a dot: ``user:bob.`` is no second spelling of ``user:bob``."""
GROUP_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9_-])?$"
LABEL_KEY_PATTERN = r"^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$"
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9._-]{0,63}$"
MAX_LABELS = 32

_AGENT_ID = re.compile(AGENT_ID_PATTERN)
_HUMAN_ID = re.compile(HUMAN_ID_PATTERN)
_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


def check_agent_id(agent_id: str) -> str:
    """Return ``agent_id`` if it is a well-formed agent id, else raise ``InvalidInput``."""
    if not _AGENT_ID.fullmatch(agent_id):
        raise InvalidInput(
            f"invalid agent id {agent_id!r}",
            code=ErrorCode.INVALID_AGENT_ID,
            help="agent ids are 2-63 characters: lowercase letters, digits and '-', "
            "starting with a letter or digit",
        )
    return agent_id


def check_human_id(human_id: str) -> str:
    """Return ``human_id`` if it is a well-formed human id, else raise ``InvalidInput``."""
    if not _HUMAN_ID.fullmatch(human_id):
        raise InvalidInput(
            f"invalid human id {human_id!r}",
            code=ErrorCode.INVALID_HUMAN_ID,
            help="human ids look like 'user:alice' (lowercase letters, digits, '.', '_', '-'; "
            "not ending in '.')",
        )
    return human_id


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Return ``labels`` as a plain dict if every key and value is well-formed."""
    if len(labels) > MAX_LABELS:
        raise InvalidInput(
            f"at most {MAX_LABELS} labels are allowed", code=ErrorCode.INVALID_LABELS
        )
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise InvalidInput(
                f"invalid label {key!r}: {value!r}",
                code=ErrorCode.INVALID_LABELS,
                help="label keys are lowercase letters, digits, '.', '_', '/', '-'; "
                "values are up to 63 letters, digits, '.', '_', '-'",
            )
    return dict(labels)

"""The TOML configuration file: the same settings as the ``CHARTER_*`` variables.

A key is a variable without ``CHARTER_``, in lower case, either flat or split at its first
``_`` into a table: ``data_dir = "/var/lib/charter"``, ``posture_dormant_after = "30d"`` and
``[posture] dormant_after = "30d"`` are all accepted. Which keys exist, and how each value
is read, comes from ``charter.settings.SETTINGS`` alone.

Anything the file says wrong (a syntax error, an unknown key, a value of the wrong type
or out of range, the same setting twice) is one ``invalid_setting`` error naming the file,
the line and the key; the value of a secret setting (the database URL) is never echoed.
Relative paths are read from the file's own directory.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.settings import SETTINGS, Setting

__all__ = ["read_config_file"]

MAX_CONFIG_BYTES = 1024 * 1024
_BY_KEY = {setting.key: setting for setting in SETTINGS}


def read_config_file(path: Path) -> dict[str, object]:
    """The settings ``path`` sets, parsed: ``{target: value}`` as ``Settings.layered``
    takes them."""
    text = _read(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The parser's message names a line and column, never the text around it.
        raise _invalid(f"{path}: not valid TOML: {error}") from None
    values: dict[str, object] = {}
    seen: dict[str, str] = {}
    for spelled, section, key, value in _entries(document, path, text):
        where = _where(path, text, section, key)
        setting = _BY_KEY.get(spelled)
        if setting is None:
            raise _invalid(f"{where}: unknown setting {spelled!r}{_suggestion(spelled)}")
        if setting.key in seen:
            raise _invalid(
                f"{where}: {spelled!r} sets {setting.key} again (also set as {seen[setting.key]!r})"
            )
        seen[setting.key] = spelled
        parsed = setting.read(_text_of(setting, value, where), where)
        if isinstance(parsed, Path) and not parsed.is_absolute():
            parsed = path.parent / parsed
        values[setting.target] = parsed
    return values


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise _invalid(f"cannot read the configuration file {path}: {error.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _invalid(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(f"{path}: not UTF-8 text") from None


def _entries(
    document: Mapping[str, Any], path: Path, text: str
) -> Iterator[tuple[str, str, str, Any]]:
    """``(key as spelled, table, key in table, value)`` for every value: a table's keys
    are joined to its name (``[posture] window`` is ``posture_window``)."""
    for name, value in document.items():
        if not isinstance(value, dict):
            yield name, "", name, value
            continue
        for inner, item in value.items():
            if isinstance(item, dict):
                where = _where(path, text, name, inner)
                raise _invalid(f"{where}: tables nest one level only ([{name}] {inner})")
            yield f"{name}_{inner}", name, inner, item


def _text_of(setting: Setting, value: object, where: str) -> str:
    """The value as the variable's text would be, refusing a TOML type the setting does
    not take (a bool is never an integer, a number never a duration)."""
    if isinstance(value, bool):
        if bool in setting.toml:
            return "true" if value else "false"
    elif isinstance(value, int):
        if int in setting.toml:
            return str(value)
    elif isinstance(value, str) and str in setting.toml:
        return value
    wanted = " or ".join(_TYPE_NAMES[kind] for kind in setting.toml)
    raise _invalid(f"{where}: must be {wanted}, not {_type_name(value)}")


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a date or time"


def _where(path: Path, text: str, section: str, key: str) -> str:
    """``file:line: key`` (the line where ``key`` is set, if it can be found)."""
    line = _line_of(text, section, key)
    shown = f"{section}.{key}" if section else key
    return f"{path}:{line}: {shown}" if line else f"{path}: {shown}"


_HEADER = re.compile(r"\s*\[\s*([A-Za-z0-9_-]+)\s*\]")


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line setting ``key`` in table ``section`` (``""``: the top level)."""
    plain = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
    dotted = re.compile(rf"\s*{re.escape(section)}\s*\.\s*{re.escape(key)}\s*=")
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1)
        elif (current == section and plain.match(line)) or (
            section and current == "" and dotted.match(line)
        ):
            return number
    return None


def _suggestion(key: str) -> str:
    close = difflib.get_close_matches(key, _BY_KEY, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(
        message,
        code=ErrorCode.INVALID_SETTING,
        help="see docs/configuration.md for the keys and their values",
    )

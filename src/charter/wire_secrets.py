"""Kept for imports written before the ``charter.wire`` package: the same names as
``charter.wire.secrets``."""

from __future__ import annotations

from charter.wire.secrets import *  # noqa: F403
from charter.wire.secrets import __all__ as __all__

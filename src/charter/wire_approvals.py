"""Kept for imports written before the ``charter.wire`` package: the same names as
``charter.wire.approvals``."""

from __future__ import annotations

from charter.wire.approvals import *  # noqa: F403
from charter.wire.approvals import __all__ as __all__

"""Kept for imports written before the ``charter.wire`` package: the same names as
``charter.wire.webhooks``."""

from __future__ import annotations

from charter.wire.webhooks import *  # noqa: F403
from charter.wire.webhooks import __all__ as __all__

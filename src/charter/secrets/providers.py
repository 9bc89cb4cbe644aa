"""The providers' token formats beyond the first few of ``rules.py``: one family per
distinctive prefix or shape, each with the issuer's published alphabet and length.

A format with a prefix of its own is found wherever it is written; a format without one
(a bare hex or base64 value) only next to the provider's name, as the family's prefix.
"""

from __future__ import annotations

from charter.secrets.rules import Family

__all__ = ["FAMILIES"]

FAMILIES: tuple[Family, ...] = ()
"""The providers' families, read with ``rules.FAMILIES`` by ``matching.py``."""

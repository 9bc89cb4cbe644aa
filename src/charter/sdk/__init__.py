"""The Python SDK: a client for the Charter API."""

from charter.sdk.client import Client

__all__ = ["Client"]

"""The Python SDK: clients for the Charter API, and ``guard`` for tool functions."""

from charter.sdk.client import AsyncClient, Client
from charter.sdk.guard import guard

__all__ = ["AsyncClient", "Client", "guard"]

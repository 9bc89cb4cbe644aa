"""Charter's MCP gateway: a proxy between an MCP client and upstream MCP servers that
asks Charter before every tool call (``charter gateway mcp``; docs/gateway.md).

Installed with the ``gateway`` extra (the MCP SDK). It is a client of decisions: it
imports the SDK and the core only, never the server, the service layer or storage.
"""

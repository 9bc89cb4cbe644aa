"""``charter gateway mcp``: run the MCP gateway in front of upstream MCP servers.

The gateway's packages (the MCP SDK) come with the ``gateway`` extra; they are imported
only when the command runs, so ``charter`` itself works without them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import anyio
import typer

from charter.cli.common import Exit, err, fail, group
from charter.codes import ErrorCode
from charter.errors import CharterError, InvalidInput

__all__ = ["app"]

app = group("Gateways that ask Charter before every tool call: mcp (a proxy for MCP servers).")


@app.command()
def mcp(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The gateway's YAML configuration.")
    ],
    listen: Annotated[
        str | None,
        typer.Option(
            help="Serve Streamable HTTP at HOST:PORT (path /mcp); without it, serve one "
            "client over stdio.",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate the configuration, then exit.")
    ] = False,
    server: Annotated[
        str | None,
        typer.Option(
            envvar="CHARTER_SERVER",
            help="Charter's URL, when the configuration names none (charter.url).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Proxy MCP tool calls, each decided by Charter first (token: CHARTER_GATEWAY_TOKEN)."""
    try:
        from charter.gateway.config import ConfigError, load_config
        from charter.gateway.run import serve_http, serve_stdio
    except ImportError as missing:
        raise fail(
            InvalidInput(f"the gateway needs {missing.name}", code=ErrorCode.INVALID_INPUT),
            hint="pip install 'charter[gateway]'",
        ) from None
    try:
        loaded = load_config(config, server=server)
    except ConfigError as error:
        for diagnostic in error.diagnostics:
            err.print(str(diagnostic), markup=False)
        raise typer.Exit(Exit.NO) from None
    if check:
        err.print(f"{config}: valid ({len(loaded.upstreams)} upstream(s))", markup=False)
        return
    # stdout is the MCP channel in stdio mode: logs go to stderr only.
    logging.basicConfig(level=logging.WARNING, format="charter-gateway: %(message)s")
    try:
        if listen is None:
            anyio.run(serve_stdio, loaded)
        else:
            host, port = _listen(listen)
            anyio.run(serve_http, loaded, host, port)
    except CharterError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        pass


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise fail(
            InvalidInput(f"--listen {text!r} is not HOST:PORT", code=ErrorCode.INVALID_ARGUMENTS),
            code=Exit.USAGE,
        )
    return host.strip("[]"), int(port)

"""Options and helpers for the commands that work on the store directly (init, serve, verify)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from charter.settings import Settings

__all__ = ["ConfigFile", "DataDir", "DatabaseUrl", "local_settings"]

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="CHARTER_CONFIG",
        help="TOML configuration file; environment variables and options override it.",
        show_default=False,
    ),
]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CHARTER_DATA_DIR",
        help="Directory of the embedded store and the signing key (default: ./.charter).",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CHARTER_DATABASE_URL",
        help="Store URL (default: SQLite in the data dir); postgresql+psycopg://... for "
        "PostgreSQL.",
        show_default=False,
    ),
]


def local_settings(
    data_dir: Path | None,
    database_url: str | None,
    *,
    config: Path | None = None,
    **more: object,
) -> Settings:
    """Settings from the configuration file, overridden by the environment, overridden by
    what the command line gave."""
    from charter.settings import read_env
    from charter.settings_file import read_config_file

    layers = [read_config_file(config)] if config is not None else []
    return Settings.layered(
        *layers, read_env(os.environ), data_dir=data_dir, database_url=database_url, **more
    )

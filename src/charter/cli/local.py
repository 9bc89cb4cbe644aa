"""Options and helpers for the commands that work on the store directly (init, serve, verify)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from charter.settings import Settings

__all__ = ["DataDir", "DatabaseUrl", "local_settings"]

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


def local_settings(data_dir: Path | None, database_url: str | None, **more: object) -> Settings:
    """Settings from the environment, overridden by what the command line gave."""
    return Settings.from_env(os.environ, data_dir=data_dir, database_url=database_url, **more)

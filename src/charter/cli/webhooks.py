"""``charter webhooks``: add, list and remove webhooks; read their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from charter.cli.common import AsJson, Server, Token, client, emit, err, group, out, table
from charter.webhooks.model import DeliveryStatus, WebhookEvent
from charter.wire_webhooks import DeliveryOut, WebhookOut

__all__ = ["app"]

app = group("Endpoints that receive Charter's events: add, list, remove, deliveries (their log).")

WebhookId = Annotated[str, typer.Argument(help="Webhook id, whk_...", show_default=False)]


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    event: Annotated[
        list[WebhookEvent] | None,
        typer.Option(
            "--event", help="An event to send (repeatable; default: all).", show_default=False
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What the webhook is for.")] = "",
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Add a webhook (admins); its signing secret is shown once."""
    with client(server, token) as charter:
        created = charter.add_webhook(
            url,
            events=[e.value for e in event] if event else None,
            description=description,
        )

    def human() -> None:
        events = ", ".join(e.value for e in created.events)
        out.print(f"webhook {created.id} for {created.url} ({events})", markup=False)
        err.print(
            "This is the only time the signing secret is shown; store it safely:", markup=False
        )
        out.print(created.secret, markup=False)

    emit(created, as_json=as_json, human=human)


@app.command("list")
def list_webhooks(
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List webhooks, removed ones too (admins, auditors)."""
    found: list[WebhookOut] = []
    with client(server, token) as charter:
        cursor: str | None = None
        while True:
            page = charter.list_webhooks(cursor=cursor)
            found.extend(page.webhooks)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    def human() -> None:
        table(
            ["id", "active", "url", "events", "description"],
            [
                (
                    w.id,
                    "yes" if w.active else "removed",
                    w.url,
                    ", ".join(e.value for e in w.events),
                    w.description,
                )
                for w in found
            ],
            wrap={"url", "events", "description"},
        )

    emit(found, as_json=as_json, human=human)


@app.command()
def remove(
    webhook_id: WebhookId,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Remove a webhook (admins); its pending deliveries are given up."""
    with client(server, token) as charter:
        removed = charter.remove_webhook(webhook_id)
    emit(
        removed,
        as_json=as_json,
        human=lambda: out.print(f"webhook {removed.id} removed", markup=False),
    )


@app.command()
def deliveries(
    webhook_id: WebhookId,
    status: Annotated[
        DeliveryStatus | None,
        typer.Option(help="Only deliveries in this state.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
    server: Server = "http://127.0.0.1:8080",
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Show a webhook's delivery log, newest first (admins, auditors)."""
    with client(server, token) as charter:
        page = charter.webhook_deliveries(
            webhook_id, status=status.value if status else None, limit=limit
        )
    found: list[DeliveryOut] = page.deliveries

    def human() -> None:
        table(
            ["id", "event", "status", "attempts", "last", "next attempt", "created"],
            [
                (
                    d.id,
                    d.type.value,
                    d.status,
                    d.attempts,
                    d.last_error or (d.last_status_code or ""),
                    _when(d.next_attempt_at),
                    _when(d.created_at),
                )
                for d in found
            ],
            wrap={"last"},
        )

    emit(found, as_json=as_json, human=human)

"""``manage.py list_api_tokens``: every API token's name, prefix, dates and state (never the token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand

from jobs.models import ApiToken


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


class Command(BaseCommand):
    help = "List the API tokens: name, prefix, created, last used, state."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [("NAME", "PREFIX", "CREATED", "LAST USED", "STATE")]
        for token in ApiToken.objects.order_by("name"):
            state = "live" if token.revoked_at is None else f"revoked {_when(token.revoked_at)}"
            rows.append((token.name, token.prefix, _when(token.created_at), _when(token.last_used_at), state))
        if len(rows) == 1:
            self.stdout.write("No API tokens.")
            return
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
        for row in rows:
            self.stdout.write(
                "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
            )

"""``manage.py revoke_api_token NAME``: the token stops working at once (403); it stays listed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.auth import TokenError, api_token_revoke


class Command(BaseCommand):
    help = "Revoke the API token named NAME (requests with it get 403 from then on)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row, was_live = api_token_revoke(name=options["name"])
        except TokenError as error:
            raise CommandError(str(error)) from None
        assert row.revoked_at is not None
        when = row.revoked_at.isoformat(timespec="seconds")
        if was_live:
            self.stdout.write(f'Revoked API token "{row.name}" (prefix {row.prefix}) at {when}.')
        else:
            self.stdout.write(f'API token "{row.name}" (prefix {row.prefix}) was already revoked at {when}.')

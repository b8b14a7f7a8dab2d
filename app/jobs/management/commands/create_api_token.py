"""``manage.py create_api_token NAME``: make an API token; the token itself is the last line printed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.auth import TokenError, api_token_create


class Command(BaseCommand):
    help = "Create an API token for the jobs API's write endpoints and print it (its last line; shown once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="a unique name saying who or what uses the token")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row, token = api_token_create(name=options["name"])
        except TokenError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f'Created API token "{row.name}" (prefix {row.prefix}). It is not stored; keep it now:')
        # Last, alone on its line, so that scripts can take it with `tail -n 1`.
        self.stdout.write(token)

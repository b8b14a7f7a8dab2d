"""``manage.py ensure_api_token NAME --token-file PATH``: make the token in PATH a live token named NAME.

For the deploy: PATH is the jobs_api_token Docker secret. Idempotent, and a rotated secret replaces the
name's digest. It prints what it did, never the token.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.auth import TokenError, api_token_ensure


class Command(BaseCommand):
    help = (
        "Make the token in --token-file an API token named NAME: create it, replace NAME's digest when the "
        "secret was rotated, or do nothing when it exists. Never prints the token."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--token-file", required=True, type=Path, help="a file holding the token (a secret)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["token_file"]
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read the token from {path}: {error}") from None
        try:
            done = api_token_ensure(name=options["name"], token=token)
        except TokenError as error:
            raise CommandError(f"{path}: {error}") from None
        row = done.token
        if done.action == "created":
            self.stdout.write(f'Created API token "{row.name}" (prefix {row.prefix}) from {path}.')
        elif done.action == "rotated":
            self.stdout.write(
                f'Replaced the digest of API token "{row.name}" (prefix {done.previous_prefix} -> {row.prefix}) '
                f"from {path}; the old token no longer works."
            )
        elif row.revoked_at is not None:
            self.stdout.write(f'API token "{row.name}" (prefix {row.prefix}) has this token already; it stays revoked.')
        else:
            self.stdout.write(f'API token "{row.name}" (prefix {row.prefix}) has this token already; nothing to do.')

"""``manage.py createsuperuser``: an admin account whose password passes the validators, with no way round them.

Django's own command asks "Bypass password validation and create user anyway? [y/N]" when a typed password
fails AUTH_PASSWORD_VALIDATORS, and with ``--noinput`` takes DJANGO_SUPERUSER_PASSWORD without validating it.
The admin's forms allow neither, and an admin account is the most powerful one there is, so this command
replaces Django's (catalog comes first in INSTALLED_APPS) and validates every password it sets. It takes
Django's options (``--username``, ``--email``, ``--noinput``, ``--database``, the DJANGO_SUPERUSER_* variables)
and adds ``--password-stdin`` for scripts (scripts/admin-user.sh): the password then never sits in argv or the
environment, where ``ps`` and ``docker inspect`` show it.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

# Refused passwords in a row before a run at a terminal gives up (Django's asks for ever, or lets one through).
PASSWORD_ATTEMPTS = 3


def _cleaned(field_name: str, value: str) -> str:
    """The value as User's field takes it; CommandError with the field's own messages otherwise."""
    try:
        return str(User._meta.get_field(field_name).clean(value, None))  # type: ignore[union-attr]
    except ValidationError as error:
        raise CommandError(f"{field_name}: {' '.join(error.messages)}") from None


def password_check(password: str, *, username: str, email: str) -> None:
    """AUTH_PASSWORD_VALIDATORS, against the account to be (the similarity check compares name and e-mail)."""
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as error:
        raise CommandError("password refused: " + " ".join(error.messages)) from None


class Command(BaseCommand):
    stdin: Any
    help = "Create a superuser whose password passes AUTH_PASSWORD_VALIDATORS (no bypass)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="The login name.")
        parser.add_argument("--email", help="The e-mail address (may be empty).")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="Ask nothing (for scripts)."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to write to.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input (up to its first line break); implies --noinput.",
        )

    def execute(self, *args: Any, **options: Any) -> str | None:
        # Where the password and answers come from: call_command(..., stdin=...) in Python, else the process's.
        self.stdin = options.get("stdin", sys.stdin)
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        database: str = options["database"]
        try:
            if options["interactive"] and not options["password_stdin"]:
                username, email = self._account_asked(options, database=database)
                password: str | None = self._password_asked(username=username, email=email)
            else:
                username, email = self._account_given(options, database=database)
                password = self._password_given(options)
                if password is not None:
                    password_check(password, username=username, email=email)
        except (KeyboardInterrupt, EOFError):
            raise CommandError("cancelled") from None
        # No password at all (--noinput without one): an unusable one, as Django's command does.
        User.objects.db_manager(database).create_superuser(username=username, email=email, password=password)
        if options["verbosity"] >= 1:
            self.stdout.write("Superuser created successfully.")

    def _username_problem(self, username: str, *, database: str) -> str | None:
        try:
            username = _cleaned("username", username)
        except CommandError as error:
            return str(error)
        if User.objects.db_manager(database).filter(username=username).exists():
            return f"username: {username} is taken"
        return None

    def _account_given(self, options: dict[str, Any], *, database: str) -> tuple[str, str]:
        """The name and e-mail of a run without questions: the options, else DJANGO_SUPERUSER_USERNAME/_EMAIL."""
        username = options["username"] or os.environ.get("DJANGO_SUPERUSER_USERNAME") or ""
        if not username:
            raise CommandError("You must use --username with --noinput.")
        problem = self._username_problem(username, database=database)
        if problem:
            raise CommandError(problem)
        return username, _cleaned("email", options["email"] or os.environ.get("DJANGO_SUPERUSER_EMAIL") or "")

    def _account_asked(self, options: dict[str, Any], *, database: str) -> tuple[str, str]:
        if not self.stdin.isatty():
            raise CommandError("No terminal to ask on: use --noinput with --username and --password-stdin.")
        username: str = options["username"] or ""
        while True:
            if not username:
                username = input("Username: ").strip()
                continue
            problem = self._username_problem(username, database=database)
            if problem is None:
                break
            self.stderr.write(problem)
            username = ""
        email: str | None = options["email"]
        while email is None:
            try:
                email = _cleaned("email", input("Email address: ").strip())
            except CommandError as error:
                self.stderr.write(str(error))
        return username, _cleaned("email", email)

    def _password_given(self, options: dict[str, Any]) -> str | None:
        if options["password_stdin"]:
            password = str(self.stdin.readline()).rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin read no password.")
            return password
        return os.environ.get("DJANGO_SUPERUSER_PASSWORD")

    def _password_asked(self, *, username: str, email: str) -> str:
        for _ in range(PASSWORD_ATTEMPTS):
            password = getpass.getpass()
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("Error: Your passwords didn't match.")
                continue
            try:
                password_check(password, username=username, email=email)
            except CommandError as error:
                self.stderr.write(str(error))
                continue
            return password
        raise CommandError(f"No password that passes the validators after {PASSWORD_ATTEMPTS} attempts.")

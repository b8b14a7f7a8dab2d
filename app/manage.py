#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

from config import project_root_on_path


def main() -> None:
    project_root_on_path()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 (after the path is set)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""The Django project: settings, URLs, WSGI entry point and server config."""

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = APP_DIR.parent


def project_root_on_path() -> None:
    """Make the shared ``search_contract`` package importable when run from ``app/``.

    In the images it is installed next to the app on PYTHONPATH; in a checkout it
    lives at the repository root, one level above ``app/``.
    """
    root = str(PROJECT_ROOT)
    if (PROJECT_ROOT / "search_contract").is_dir() and root not in sys.path:
        sys.path.append(root)

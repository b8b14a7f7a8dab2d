"""pyproject.toml's packaging: the wheel the images install holds every file of the packages it maps.

The fast suite runs the editable install, which maps whole folders: a file that the wheel leaves out (a
template not matched by package-data, a folder without ``__init__.py``) still works here and fails only in
the images. So the wheel is built the way scripts/build-images.sh builds it (the control plane's
commands/build.py: from a copy of the sources, ``pip wheel --no-deps --no-build-isolation`` with the locked
setuptools) and compared with the tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from scripts.control_plane.decisions.images import WHEEL_SOURCES
from tests.servers import ROOT

# What build-images.sh copies to build from (the control plane's build command: the same list it uses), and
# where each package's files sit in the wheel.
SOURCES = WHEEL_SOURCES
# app/manage.py is no package file: the Django image copies it to /srv/app itself.
NOT_IN_WHEEL = {"app/manage.py"}
PACKAGES = {"catalog", "config", "fastapi_search", "jobs", "search_contract", "service_common", "web"}


def _tree_files() -> set[str]:
    """The packages' files git knows of (new ones too), as paths inside the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *SOURCES[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = set()
    for path in listed:
        if path in NOT_IN_WHEEL or not (ROOT / path).is_file():
            continue
        files.add(path.removeprefix("app/"))
    return files


def test_the_wheel_holds_every_file_of_the_packages(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "staticfiles")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
    built = subprocess.run(
        [*pip_wheel, "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("parts_catalog-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    in_wheel = {name for name in names if ".dist-info/" not in name}

    assert in_wheel == _tree_files()
    # The seven packages and nothing else land in site-packages (no app/, tests/ or scripts/).
    assert {name.split("/")[0] for name in in_wheel} == PACKAGES

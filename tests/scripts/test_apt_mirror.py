"""scripts/apt_mirror.py: the Debian mirror build-images.sh (commands/build.py) takes from the build host's apt sources.

Sample /etc/apt trees in both formats (one-line sources.list, deb822 *.sources), read the way apt reads them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.control_plane.commands.build import Build
from scripts.control_plane.decisions.images import BuildRequest
from scripts.control_plane.docker import subprocess_runner
from scripts.control_plane.runbook import Failure
from tests.scripts.control_plane.fake_swarm import FakeSwarm, context
from tests.servers import ROOT

SCRIPT = ROOT / "scripts" / "apt_mirror.py"

# The shape debian:bookworm carries (deb822, Debian 12's default), with placeholder hosts.
DEBIAN_SOURCES = """\
Types: deb
# http://mirror.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def apt_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "etc" / "apt" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "etc" / "apt" / "sources.list.d").mkdir(parents=True, exist_ok=True)
    return root


def mirror(root: Path, suite: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), suite, "--root", str(root)], capture_output=True, text=True, check=False
    )


def test_deb822_sources_give_the_main_and_security_mirrors(tmp_path: Path) -> None:
    root = apt_tree(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES})
    assert mirror(root, "bookworm").stdout == "http://mirror.example/debian\n"
    assert mirror(root, "bookworm-security").stdout == "http://mirror.example/debian-security\n"


def test_a_one_line_sources_list_with_options_and_comments(tmp_path: Path) -> None:
    root = apt_tree(
        tmp_path,
        {
            "sources.list": (
                "# the site's proxy\n"
                "deb-src http://src.example/debian bookworm main\n"
                "deb http://mirror.example/debian bookworm contrib\n"
                "deb [arch=amd64 signed-by=/usr/share/keyrings/d.gpg] http://mirror.example/debian/ bookworm main"
                " contrib  # trailing comment\n"
                "deb http://mirror.example/debian-security bookworm-security main\n"
            )
        },
    )
    # deb-src and a source without the main component are skipped; the trailing slash is dropped.
    assert mirror(root, "bookworm").stdout == "http://mirror.example/debian\n"
    assert mirror(root, "bookworm-security").stdout == "http://mirror.example/debian-security\n"


def test_sources_list_comes_first_then_the_parts_in_name_order(tmp_path: Path) -> None:
    root = apt_tree(
        tmp_path,
        {
            "sources.list": "# nothing here any more\n",
            "sources.list.d/20-debian.sources": DEBIAN_SOURCES,
            "sources.list.d/10-site.list": "deb https://apt.site.example/debian bookworm main\n",
            # Neither a .list nor a .sources file: apt ignores it, and so does the script.
            "sources.list.d/00-old.list.disabled": "deb http://old.example/debian bookworm main\n",
        },
    )
    assert mirror(root, "bookworm").stdout == "https://apt.site.example/debian\n"


def test_a_disabled_stanza_and_unusable_methods_are_skipped(tmp_path: Path) -> None:
    root = apt_tree(
        tmp_path,
        {
            "sources.list": "deb cdrom:[Debian 12]/ bookworm main\n",
            "sources.list.d/a.sources": (
                "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
                "Types: deb-src deb\nURIs:\n http://one.example/debian\n http://two.example/debian\n"
                "Suites: bookworm\nComponents: main\n"
            ),
        },
    )
    assert mirror(root, "bookworm").stdout == "http://one.example/debian\n"


@pytest.mark.parametrize("files", [{}, {"sources.list": "deb http://ubuntu.example/ubuntu noble main\n"}])
def test_no_source_for_the_suite_fails_with_a_message_naming_what_was_read(
    tmp_path: Path, files: dict[str, str]
) -> None:
    result = mirror(apt_tree(tmp_path, files), "bookworm")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no apt source has suite bookworm with component main" in result.stderr


def test_build_images_prefers_the_environment_then_apt() -> None:
    """build's debian_mirror (commands/build.py): DEBIAN_MIRROR wins; without it apt_mirror.py's answer."""
    ctx = context(FakeSwarm(), ROOT, environ={"DEBIAN_MIRROR": "http://site.example/debian"})
    ctx.programs = subprocess_runner
    build = Build(ctx, BuildRequest(), "offline")
    assert build.debian_mirror("DEBIAN_MIRROR", "bookworm") == "http://site.example/debian"
    with pytest.raises(Failure) as missing:
        build.debian_mirror("DEBIAN_SECURITY_MIRROR", "no-such-suite")
    assert missing.value.exit_code == 1
    assert "set DEBIAN_SECURITY_MIRROR" in missing.value.reason

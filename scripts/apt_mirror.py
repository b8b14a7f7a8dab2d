"""Print the Debian mirror this machine's apt uses for a suite, so that an image build uses the site's mirror too.

Usage: python3 scripts/apt_mirror.py SUITE [--component main] [--root /]

Reads /etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and *.sources in name order (the order apt reads
them), one-line and deb822 formats, and prints the URI of the first enabled `deb` source that has SUITE and the
component. Exits 1 with a message naming the files read when none has. Standard library only: build-images.sh
runs it with the build host's python3.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Methods debootstrap and apt inside the image can fetch from (not cdrom:, mirror+file:, tor+ and friends).
USABLE_SCHEMES = ("http://", "https://", "ftp://", "file:/")


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def source_files(root: Path) -> list[Path]:
    etc = root / "etc" / "apt"
    parts = etc / "sources.list.d"
    listed = sorted(
        (path for path in parts.glob("*") if path.suffix in {".list", ".sources"}), key=lambda path: path.name
    )
    return [path for path in [etc / "sources.list", *listed] if path.is_file()]


def one_line_sources(text: str) -> Iterator[AptSource]:
    """`deb [option=value ...] URI SUITE COMPONENT...` lines; deb-src and comments are skipped."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        rest = line[len("deb ") :].strip()
        if rest.startswith("["):
            if "]" not in rest:
                continue
            rest = rest.split("]", 1)[1]
        words = rest.split()
        if len(words) >= 3:  # URI, suite, at least one component
            yield AptSource(uri=words[0], suites=(words[1],), components=tuple(words[2:]))


def deb822_sources(text: str) -> Iterator[AptSource]:
    """Stanzas of `Types:`, `URIs:`, `Suites:`, `Components:` (`Enabled: no` skipped), separated by blank lines."""
    stanzas: list[dict[str, str]] = [{}]
    key = ""
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        if not raw.strip():
            stanzas.append({})
            continue
        if raw[0] in " \t" and key:  # a continuation line
            stanzas[-1][key] += " " + raw.strip()
            continue
        if ":" in raw:
            key, value = raw.split(":", 1)
            key = key.strip().lower()
            stanzas[-1][key] = value.strip()
    for stanza in stanzas:
        if "deb" not in stanza.get("types", "").split() or stanza.get("enabled", "yes").lower() == "no":
            continue
        suites, components = tuple(stanza.get("suites", "").split()), tuple(stanza.get("components", "").split())
        for uri in stanza.get("uris", "").split():
            yield AptSource(uri=uri, suites=suites, components=components)


def apt_sources(root: Path) -> Iterator[AptSource]:
    for path in source_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        yield from deb822_sources(text) if path.suffix == ".sources" else one_line_sources(text)


def apt_mirror(*, root: Path, suite: str, component: str = "main") -> str | None:
    """The first usable URI apt fetches `suite`'s `component` from, without a trailing slash; None if none."""
    for source in apt_sources(root):
        if suite in source.suites and component in source.components and source.uri.startswith(USABLE_SCHEMES):
            return source.uri.rstrip("/")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--component", default="main")
    parser.add_argument("--root", type=Path, default=Path("/"), help="file system root to read etc/apt from")
    args = parser.parse_args(argv)
    mirror = apt_mirror(root=args.root, suite=args.suite, component=args.component)
    if mirror is None:
        read = ", ".join(str(path) for path in source_files(args.root)) or "no apt source file"
        print(
            f"apt_mirror.py: no apt source has suite {args.suite} with component {args.component} (read: {read})",
            file=sys.stderr,
        )
        return 1
    print(mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The documents stay true: every link, path, script and `make` target they name exists (issue 21).

The front README is short and the depth lives beside what it describes (each folder's README.md, and docs/ for
what spans folders), so a renamed file or a moved section would leave a dead reference in some document nobody
rereads. This reads README.md, every README.md in the tree and docs/*.md (no servers, well under a second)
and lists every reference that points nowhere:

- a relative Markdown link whose file or folder is missing, or whose ``#anchor`` names no heading there;
- a path in backticks (inline or in a fenced block) that starts with a top-level folder of the repository
  (``scripts/...``, ``nginx/...``, ``tests/...``), starts with ``./`` or ``../``, or is a root file
  (``stack.yml``, ``Makefile``), and does not exist;
- a bare file name of code in backticks (``heartbeat.py``, ``edge.lua``, ``up.sh``) that no file in the tree
  carries: the layout once named ``beat.py``, which never existed;
- a ``make TARGET`` in backticks or a fenced block whose target the Makefile does not define.

Placeholders (``<tag>``, ``*``, ``$TAG``, ``...``) are skipped: they name no one file.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]

# Folders never read: tools' caches, virtualenvs, build output and the files a benchmark keeps out of git.
SKIPPED_DIRS = {"node_modules", "__pycache__", "build", "staticfiles", "tmp"}
# Root files a document may name without a folder.
ROOT_FILE = re.compile(r"^(?:stack[\w.-]*\.ya?ml|Makefile|pyproject\.toml|README\.md)$")
# Bare names of code: each must be some file of the tree. Data a reader makes (cert.pem, parts.csv) is not code.
CODE_NAME = re.compile(r"^[\w.-]+\.(?:py|sh|lua|sql|Dockerfile)$")
# Files the documents name as removed, on purpose (scripts/control_plane/README.md, "The switch-over").
NAMED_AS_GONE = {"postgres-node.sh", "test_update_polling.py", "test_admin_user.py"}
PLACEHOLDER = re.compile(r"[<>*?{}$\[\]…]|\.\.\.")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([A-Za-z][\w.-]*)(?=\s|$|[;&|)])")
MAKEFILE_TARGET = re.compile(r"^([A-Za-z][\w.-]*)\s*:(?!=)", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    path: Path
    prose: str  # the text with fenced blocks blanked out, line numbers kept
    fenced: tuple[tuple[int, str], ...]  # (line number, line) inside fenced blocks

    @property
    def name(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    def line_of(self, offset: int) -> int:
        return self.prose.count("\n", 0, offset) + 1


def _read(path: Path) -> Document:
    prose, fenced = [], []
    in_fence = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            prose.append("")
        elif in_fence:
            fenced.append((number, line))
            prose.append("")
        else:
            prose.append(line)
    return Document(path, "\n".join(prose), tuple(fenced))


def _walk() -> tuple[list[Path], set[str], set[str]]:
    """The README.md files of the tree, every file name in it, and the top-level folders."""
    readmes, names = [], set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS and "egg-info" not in d)
        names.update(files)
        if "README.md" in files:
            readmes.append(Path(folder) / "README.md")
    top = {entry.name for entry in ROOT.iterdir() if entry.is_dir() and not entry.name.startswith(".")}
    return readmes, names, top - SKIPPED_DIRS


@functools.cache
def _tree() -> tuple[tuple[Document, ...], frozenset[str], frozenset[str]]:
    readmes, names, top = _walk()
    paths = sorted(set(readmes) | set((ROOT / "docs").glob("*.md")))
    return tuple(_read(path) for path in paths), frozenset(names), frozenset(top)


def _documents() -> tuple[Document, ...]:
    return _tree()[0]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _read(path).prose.splitlines():
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return frozenset(anchors)


def _code(document: Document) -> list[tuple[int, str]]:
    """Every code text of a document with its line: inline spans (joined over line breaks) and fenced lines."""
    spans = [
        (document.line_of(match.start()), " ".join(match.group(1).split()))
        for match in INLINE_CODE.finditer(document.prose)
    ]
    return spans + list(document.fenced)


def _tokens(code: str) -> list[str]:
    words = (word.strip("\"'`()[];:,.!").split("::")[0] for word in re.split(r"[\s=|,]+", code))
    return [word for word in words if word and not PLACEHOLDER.search(word)]


def _broken_link(document: Document, target: str) -> str | None:
    if SCHEME.match(target):
        return None
    path_part, _, fragment = target.partition("#")
    path = (document.path.parent / unquote(path_part)).resolve() if path_part else document.path
    if not path.is_relative_to(ROOT):
        return "points outside the repository"
    if not path.exists():
        return "no such file or folder"
    if fragment and path.suffix == ".md" and unquote(fragment).lower() not in _anchors(path):
        return f"no heading #{fragment} in {path.relative_to(ROOT).as_posix()}"
    return None


def _broken_repository_path(token: str) -> str | None:
    path = ROOT / token
    if not path.exists():
        return "no such path in the repository"
    return "not a folder" if token.endswith("/") and not path.is_dir() else None


def _broken_path(document: Document, token: str) -> str | None:
    _, names, top = _tree()
    first, slash, _ = token.partition("/")
    if token.startswith(("./", "../")):
        reason = None if (document.path.parent / token).exists() else "no such path beside the document"
    elif slash:
        # An absolute path is one inside a container or on the host; others name a folder of the tree or none.
        reason = _broken_repository_path(token) if first in top else None
    elif ROOT_FILE.match(token):
        reason = None if (ROOT / token).exists() else "no such file at the root"
    elif CODE_NAME.match(token) and token not in names | NAMED_AS_GONE:
        reason = "no file of this name in the tree"
    else:
        reason = None
    return reason


def _report(problems: list[str]) -> str:
    return f"{len(problems)} broken reference(s) in the documents:\n" + "\n".join(problems)


def test_the_documents_are_found() -> None:
    names = {document.name for document in _documents()}
    assert {"README.md", "nginx/README.md", "scripts/README.md", "tests/README.md"} <= names
    assert any(name.startswith("docs/") for name in names)


def test_every_relative_link_has_its_target() -> None:
    problems = []
    for document in _documents():
        prose = INLINE_CODE.sub(lambda match: " " * len(match.group(0)), document.prose)
        for match in LINK.finditer(prose):
            reason = _broken_link(document, match.group(1))
            if reason:
                problems.append(f"{document.name}:{document.line_of(match.start())}: ({match.group(1)}) {reason}")
    assert not problems, _report(problems)


def test_every_path_named_in_code_exists() -> None:
    problems = []
    for document in _documents():
        for line, code in _code(document):
            for token in _tokens(code):
                reason = _broken_path(document, token)
                if reason:
                    problems.append(f"{document.name}:{line}: `{token}` {reason}")
    assert not problems, _report(problems)


def test_every_make_target_named_is_in_the_makefile() -> None:
    targets = set(MAKEFILE_TARGET.findall((ROOT / "Makefile").read_text(encoding="utf-8")))
    problems = []
    for document in _documents():
        for line, code in _code(document):
            command = re.sub(r"(?:^|\s)#.*$", "", code)  # a shell comment is prose
            for target in MAKE.findall(command):
                if target not in targets:
                    problems.append(f"{document.name}:{line}: `make {target}`: no such target in the Makefile")
    assert not problems, _report(problems)


def test_the_front_readme_fits_on_a_few_screens() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move the depth beside what it describes (issue 21)"


def test_the_checks_catch_what_they_are_for() -> None:
    document = Document(ROOT / "docs" / "example.md", "", ())
    assert _broken_path(document, "scripts/no-such-script.sh")
    assert _broken_path(document, "beat.py")
    assert _broken_path(document, "stack.prod.yml")
    assert _broken_path(document, "stack.yml") is None
    assert _broken_path(document, "scripts/images/") is None
    assert _broken_link(document, "../nginx/README.md#no-such-heading")
    assert _broken_link(document, "../nginx/README.md") is None
    assert slug("Zero-downtime: what each mechanism covers") == "zero-downtime-what-each-mechanism-covers"
    assert slug("Changing the edge's configuration in place") == "changing-the-edges-configuration-in-place"
    assert MAKE.findall("make bench PARTS=10000 && make up") == ["bench", "up"]

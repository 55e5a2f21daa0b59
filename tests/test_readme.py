"""The README's annotated file tree is the repository's: every path it names exists in git, and
every module and script git tracks is named in it. The user-facing docs speak of the project,
not of how its work was organised."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTE_COLUMN = 12  # entries are indented less than this; continued notes more


def tracked() -> set[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return set(out.split())


def tree_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text[text.index("## File tree") :]
    start = body.index("```\n") + 4
    return body[start : body.index("```", start)].splitlines()


def tree_paths(lines: list[str]) -> list[str]:
    """The path of each entry: its first name(s) (`a.py, b.py   note`), under its parents."""
    parents: list[tuple[int, str]] = []
    out = []
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent >= NOTE_COLUMN:
            continue  # a continuation of the note above
        head = re.split(r"\s{2,}", line.strip())[0]
        while parents and parents[-1][0] >= indent:
            parents.pop()
        prefix = "".join(p for _, p in parents)
        for name in (n.strip() for n in head.split(",")):
            out.append(prefix + name)
        if head.endswith("/"):
            parents.append((indent, head))
    return out


def test_every_path_in_the_tree_exists():
    files = tracked()
    dirs = {str(Path(f).parent) + "/" for f in files} | {
        "/".join(f.split("/")[: i + 1]) + "/" for f in files for i in range(f.count("/"))
    }
    missing = [p for p in tree_paths(tree_block()) if p not in files and p not in dirs]
    assert not missing, f"README tree names paths git does not track: {missing}"


def test_every_module_and_script_is_in_the_tree():
    text = "\n".join(tree_block())
    code = [f for f in tracked() if f.startswith(("microturn/", "scripts/")) and f.endswith(
        (".py", ".sh"))]  # fmt: skip
    absent = [
        f for f in code
        if Path(f).name not in ("__init__.py", "__main__.py")
        and not re.search(rf"(^|[\s,;]){re.escape(Path(f).name)}(\s|,|$)", text, re.M)
    ]  # fmt: skip
    assert not absent, f"README tree misses: {absent}"


def test_user_docs_speak_of_the_project_not_its_work_history():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    # ("--sessions 8 16", a command's flag, is not history)
    history = re.compile(r"(?<!--)\b(session|issue|sprint|ticket)s?[ -]?#?\d+", re.I)
    hits = [
        f"{p.name}: {m.group(0)}"
        for p in docs
        if p.name != "LOG.md"
        for m in history.finditer(p.read_text())
    ]
    assert not hits, hits

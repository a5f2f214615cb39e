"""README and sources cite only what the repository holds: every relative link resolves, and no file
names a document that is not in the repository."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# design notes that live outside this repository; a reader of the repository cannot open them
OUTSIDE_DOCUMENTS = ("SEED-FACTS", "ARCHITECTURE.md", "STYLE.md")


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True,
                          timeout=60).stdout.split()


def test_readme_links_resolve() -> None:
    for target in LINK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (REPO / target).exists(), f"README links to {target}, which is not in the repository"


def test_no_file_cites_a_document_outside_the_repository() -> None:
    offenders = []
    for name in _tracked():
        path = REPO / name
        if "/dist/" in name or name == "tests/test_readme.py" or not path.is_file():
            continue
        if path.suffix not in {".py", ".md", ".yaml", ".toml", ""}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {doc}" for doc in OUTSIDE_DOCUMENTS if doc in text]
    assert offenders == []

"""The wild corpus: real upstream manifests (and the reference deployment's hand-written YAML, re-created
under reference/) linted one directory at a time, every error/warning finding compared with the reviewed
verdicts in expected.yaml, so precision (true positives / findings) and recall on known defects are tests.

    python -m tests.wild.corpus            # lint every scope, print findings, verdicts and the numbers
    python -m tests.wild.corpus --unreviewed   # only findings expected.yaml does not cover (to review)
    python -m tests.wild.corpus import MIRROR_ROOT  # re-extract the upstream files from git mirrors

A scope is a directory holding YAML files directly: the files one upstream guide applies together,
linted as one cluster (`infergate lint DIR`). Until lint grows per-directory scopes itself, the runner
starts one `infergate lint` per directory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

WILD = Path(__file__).resolve().parent
REPO = WILD.parents[1]
COUNTED = ("error", "warning")  # info findings are the open-world notes, not verdicts
META_FILES = {"expected.yaml", "sources.yaml"}


@dataclass(frozen=True)
class Finding:
    scope: str
    file: str  # relative to tests/wild
    line: int | None
    code: str
    severity: str
    message: str


@dataclass
class ScopeRun:
    scope: str
    returncode: int
    findings: list[Finding]
    stderr: str
    objects: int
    files: int

    @property
    def crashed(self) -> bool:
        # 0 = clean, 1 = findings at the fail-on level; anything else (2 = bad input, tracebacks) is a
        # crash on a file meant to be applied
        return self.returncode not in (0, 1) or "Traceback" in self.stderr


@dataclass
class Expected:
    file: str
    code: str
    verdict: str
    reason: str
    line: int | None = None
    match: str | None = None
    cause: str | None = None
    # a branch of issue 14 not merged yet: `until` = the finding goes away with it, `since` = it appears
    # with it; either way the entry may be absent without being stale (cleaned up after the merge)
    until: str | None = None
    since: str | None = None

    def covers(self, f: Finding) -> bool:
        return (self.file == f.file and self.code == f.code
                and (self.line is None or self.line == f.line)
                and (self.match is None or self.match in f.message))


@dataclass
class Review:
    runs: list[ScopeRun]
    verdicts: list[tuple[Finding, Expected | None]] = field(default_factory=list)
    stale: list[Expected] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for f, _ in self.verdicts]

    def count(self, verdict: str) -> int:
        return sum(1 for _, e in self.verdicts if e is not None and e.verdict == verdict)

    @property
    def unreviewed(self) -> list[Finding]:
        return [f for f, e in self.verdicts if e is None]

    @property
    def precision(self) -> float:
        tp, fp = self.count("tp"), self.count("fp")
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def crashes(self) -> list[ScopeRun]:
        return [r for r in self.runs if r.crashed]


def scopes() -> list[Path]:
    """Every directory under tests/wild that holds YAML manifests directly, in a stable order."""
    found = {p.parent for p in WILD.rglob("*.yaml") if p.parent != WILD and p.name not in META_FILES}
    return sorted(found)


def load_expected(path: Path = WILD / "expected.yaml") -> tuple[list[Expected], dict, dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for i, raw in enumerate(doc.get("findings") or []):
        missing = {"file", "code", "verdict", "reason"} - set(raw)
        if missing or raw["verdict"] not in ("tp", "fp") or not str(raw["reason"]).strip():
            raise ValueError(f"{path.name}: findings[{i}] needs file, code, verdict tp|fp and a reason")
        entries.append(Expected(**{k: raw.get(k) for k in Expected.__dataclass_fields__}))
    return entries, doc.get("scopes") or {}, doc.get("recall") or {}


def _infergate() -> str:
    local = REPO / ".venv" / "bin" / "infergate"
    return str(local) if local.exists() else "infergate"


def lint_scope(scope: Path, args: list[str]) -> ScopeRun:
    rel = scope.relative_to(REPO).as_posix()
    proc = subprocess.run([_infergate(), "lint", "--format", "json", "--fail-on", "error", *args, rel],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "NO_COLOR": "1"})
    findings: list[Finding] = []
    objects = 0
    if proc.returncode in (0, 1):
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return ScopeRun(rel, 99, [], proc.stderr + "\nunparsable JSON output", 0, 0)
        for raw in doc.get("findings", []):
            if raw.get("severity") not in COUNTED:
                continue
            file = raw.get("file") or rel
            file = Path(file).resolve().relative_to(WILD).as_posix() if Path(file).is_absolute() \
                else Path(file).as_posix().removeprefix("tests/wild/")
            findings.append(Finding(scope=scope.relative_to(WILD).as_posix(), file=file,
                                    line=raw.get("line"), code=raw["code"],
                                    severity=raw["severity"], message=raw.get("message", "")))
        objects = _count_objects(scope)
    files = sum(1 for p in scope.glob("*.yaml"))
    findings.sort(key=lambda f: (f.file, f.line or 0, f.code, f.message))
    return ScopeRun(scope.relative_to(WILD).as_posix(), proc.returncode, findings, proc.stderr, objects,
                    files)


def _count_objects(scope: Path) -> int:
    n = 0
    for path in sorted(scope.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind"):
                n += len(doc.get("items") or []) if doc["kind"].endswith("List") else 1
    return n


def run(jobs: int = 2) -> Review:
    expected, scope_opts, _ = load_expected()
    dirs = scopes()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(
            lambda d: lint_scope(d, list((scope_opts.get(d.relative_to(WILD).as_posix()) or {})
                                         .get("args") or [])), dirs))
    review = Review(runs)
    used: set[int] = set()
    for r in runs:
        for f in r.findings:
            hit = next((i for i, e in enumerate(expected) if e.covers(f)), None)
            if hit is not None:
                used.add(hit)
            review.verdicts.append((f, expected[hit] if hit is not None else None))
    review.stale = [e for i, e in enumerate(expected) if i not in used and not (e.until or e.since)]
    return review


def check_sources() -> list[str]:
    """Each upstream file is byte-identical to what sources.yaml records."""
    doc = yaml.safe_load((WILD / "sources.yaml").read_text(encoding="utf-8"))
    problems = []
    for scope, by_repo in doc["scopes"].items():
        for key, entries in by_repo.items():
            for entry in entries:
                target = WILD / scope / Path(entry["path"]).name
                if not target.is_file():
                    problems.append(f"{target.relative_to(WILD)}: missing")
                elif hashlib.sha256(target.read_bytes()).hexdigest() != entry["sha256"]:
                    problems.append(f"{target.relative_to(WILD)}: sha256 differs from sources.yaml "
                                    f"({doc['repos'][key]['repo']}@{doc['repos'][key]['commit'][:12]})")
    return problems


def import_from_mirrors(mirror_root: Path) -> None:
    """Re-extract every upstream file from local git mirrors (<root>/<owner>+<name>/repo) at the
    recorded commit and rewrite the sha256 fields of sources.yaml (the files are copied unmodified)."""
    text = (WILD / "sources.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    for scope, by_repo in doc["scopes"].items():
        for key, entries in by_repo.items():
            meta = doc["repos"][key]
            git_dir = mirror_root / meta["repo"].replace("/", "+") / "repo"
            entries[:] = [{"path": e} if isinstance(e, str) else e for e in entries]
            for entry in entries:
                spec = f"{meta['commit']}:{entry['path']}"
                data = subprocess.run(["git", "-C", str(git_dir), "show", spec], capture_output=True,
                                      check=True, timeout=60).stdout
                target = WILD / scope / Path(entry["path"]).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                entry["sha256"] = hashlib.sha256(data).hexdigest()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    (WILD / "sources.yaml").write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110),
                                       encoding="utf-8")


def summary(review: Review, seconds: float) -> str:
    tp, fp = review.count("tp"), review.count("fp")
    files = sum(r.files for r in review.runs)
    objects = sum(r.objects for r in review.runs)
    by_code = Counter(f.code for f in review.findings)
    lines = [f"scopes {len(review.runs)}, files {files}, objects {objects}, "
             f"findings (error+warning) {len(review.findings)}: tp {tp}, fp {fp}, "
             f"unreviewed {len(review.unreviewed)}, crashes {len(review.crashes)}, "
             f"precision {review.precision:.1%}, {seconds:.1f}s",
             "by code: " + ", ".join(f"{c} {n}" for c, n in sorted(by_code.items()))]
    fp_causes = Counter(e.cause or "?" for _, e in review.verdicts if e is not None and e.verdict == "fp")
    if fp_causes:
        lines.append("fp by cause: " + ", ".join(f"{c} {n}" for c, n in sorted(fp_causes.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.wild.corpus")
    parser.add_argument("command", nargs="?", default="report", choices=("report", "import"))
    parser.add_argument("mirror_root", nargs="?", type=Path)
    parser.add_argument("--unreviewed", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    ns = parser.parse_args(argv)
    if ns.command == "import":
        if ns.mirror_root is None:
            parser.error("import needs MIRROR_ROOT")
        import_from_mirrors(ns.mirror_root)
        return 0
    start = time.perf_counter()
    review = run(ns.jobs)
    seconds = time.perf_counter() - start
    for r in review.crashes:
        print(f"CRASH {r.scope}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    for f, e in review.verdicts:
        if ns.unreviewed and e is not None:
            continue
        verdict = e.verdict if e else "??"
        print(f"{verdict:2} {f.file}:{f.line} {f.code} [{f.severity}] {f.message}")
    for e in review.stale:
        print(f"STALE expected entry (no such finding now): {e.file}:{e.line} {e.code}")
    print(summary(review, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`infergate check`: prove the committed dist/ is fresh, schema-valid and policy-clean, in one run.

1. freshness: synthesize into a temp dir and diff against dist/ (skipped when the content hash of
   every synth input and of dist/ itself matches a previous clean run);
2. `infergate validate` and 3. `infergate lint` over dist/ through their Python APIs.
A stage that is not available is reported as "not run" and fails the check: it never counts as passed.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.check import cache as checkcache
from infergate.check.inputhash import synth_inputs_hash
from infergate.check.treediff import TreeDiff, compare_trees
from infergate.core.findings import Finding, Severity
from infergate.project.discovery import Project, require_project


@dataclass(slots=True)
class StageResult:
    name: str
    ran: bool
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why it did not run
    cached: bool = False  # results reused from an earlier run on identical inputs
    fail_on: Severity = Severity.ERROR  # lint honours the project's lint config (fail_on = "warning")

    @property
    def failed(self) -> bool:
        return not self.ran or any(f.severity.rank >= self.fail_on.rank for f in self.findings)


@dataclass(slots=True)
class CheckReport:
    project: Path
    dist: Path
    diff: TreeDiff
    synth_skipped: bool
    files: int
    stages: list[StageResult]

    @property
    def exit_code(self) -> int:
        return 1 if not self.diff.clean or any(s.failed for s in self.stages) else 0


def check_freshness(project: Project, dist: Path, envs: list[str], key: str | None) -> tuple[TreeDiff, bool]:
    """Diff dist/ against a fresh synth (skipped when ``key`` is known fresh); returns (diff, skipped)."""
    from infergate.synth.run import synthesize

    if key is not None and checkcache.is_fresh(key):
        return TreeDiff(), True
    with tempfile.TemporaryDirectory(prefix="infergate-check-") as tmp:
        fresh = Path(tmp) / "dist"
        synthesize(project, envs or None, out=fresh)
        if envs:  # only the selected environments' folders are compared
            diffs = [compare_trees(dist / env, fresh / env, label=f"{dist.name}/{env}") for env in envs]
            diff = TreeDiff(
                changed=[f"{env}/{p}" for env, d in zip(envs, diffs, strict=True) for p in d.changed],
                missing=[f"{env}/{p}" for env, d in zip(envs, diffs, strict=True) for p in d.missing],
                extra=[f"{env}/{p}" for env, d in zip(envs, diffs, strict=True) for p in d.extra],
                patch="".join(d.patch for d in diffs))
        else:
            diff = compare_trees(dist, fresh, label=dist.name)
    if diff.clean and key is not None:
        checkcache.remember_fresh(key)
    return diff, False


def _run_stage(name: str, module: str, function: str, paths: list[Path]) -> StageResult:
    try:
        api: Callable[..., tuple[list[Finding], dict[str, Any]]] = getattr(
            importlib.import_module(module), function)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # a missing dependency inside the module is a broken install, not "not implemented"
        return StageResult(name, ran=False, note="not implemented")
    except AttributeError:
        return StageResult(name, ran=False, note=f"not implemented ({module}.{function} missing)")
    try:
        findings, summary = api(paths)
    except ImportError as exc:  # the stage is importable but part of it (e.g. its rules) is not there yet
        return StageResult(name, ran=False, note=f"not available ({type(exc).__name__}: {exc})")
    return StageResult(name, ran=True, findings=sorted(findings, key=Finding.sort_key), summary=summary)


def _relative(path: Path) -> Path:
    """Findings name files as the user would type them: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _stages(targets: list[Path], results_key: str | None) -> list[StageResult]:
    specs = [("validate", "infergate.validate", "validate_paths"), ("lint", "infergate.lint", "lint_paths")]
    if not targets:
        return [StageResult(name, ran=False, note="nothing to check: no dist/ folder") for name, *_ in specs]
    cached = checkcache.load_results(results_key) if results_key else None
    if cached is not None and set(cached) == {name for name, *_ in specs}:
        return [StageResult(name, ran=True, findings=cached[name][0], summary=cached[name][1], cached=True)
                for name, *_ in specs]
    stages = [_run_stage(name, module, function, targets) for name, module, function in specs]
    if results_key and all(s.ran for s in stages):  # never remember a stage that did not run
        checkcache.store_results(results_key, {s.name: (s.findings, s.summary) for s in stages})
    return stages


def run_check(path: Path | None = None, envs: list[str] | None = None, use_cache: bool = True,
              project: Path | None = None) -> CheckReport:
    """``path``: the committed tree to check (default: the project's dist); the project is ``project``,
    else the nearest one above ``path``, else above the working directory."""
    envs = list(envs or [])
    found = require_project(project, start=path.resolve().parent if path is not None else None)
    dist = (path or found.dist_dir).resolve()
    key = synth_inputs_hash(found, dist, envs) if use_cache else None
    targets = [_relative(t) for t in ([dist / env for env in envs] if envs else [dist]) if t.exists()]
    files = sum(1 for t in targets for p in t.rglob("*") if p.is_file())
    from infergate.lint.config import discover_config

    lint_config = discover_config(found.root)
    results_key = None
    if key is not None:
        results_key = checkcache.results_key(key, targets, checkcache.canonical(lint_config))
    # validate and lint read the committed tree, not the synth result: while synth mostly waits on
    # its Node process, they run alongside it (a synth error still wins: result() re-raises it)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="infergate-synth") as pool:
        freshness = pool.submit(check_freshness, found, dist, envs, key)
        stages = _stages(targets, results_key)
        diff, skipped = freshness.result()
    for stage in stages:
        if stage.name == "lint":
            stage.fail_on = lint_config.fail_on
    return CheckReport(found.root, dist, diff, skipped, files, stages)


def _display(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix() + "/"
    except ValueError:
        return str(path)


def render_report(report: CheckReport) -> str:
    """The diff and findings first, then one summary line per stage and the verdict."""
    from infergate.core.reporters import render_text

    out: list[str] = []
    where = _display(report.dist, report.project)
    diff = report.diff
    if diff.clean:
        how = "unchanged inputs, synth skipped" if report.synth_skipped else "matches a fresh synth"
        fresh_line = f"fresh: {where} {how}"
    else:
        out.append(diff.patch.rstrip("\n"))
        for label, paths in (("differs from a fresh synth", diff.changed),
                             ("missing (generated, not committed)", diff.missing),
                             ("not generated (hand-added or stale)", diff.extra)):
            out.extend(f"{where}{p}: {label}" for p in paths)
        fresh_line = (f"STALE: {where} {len(diff.changed)} changed, {len(diff.missing)} missing, "
                      f"{len(diff.extra)} extra; run `infergate synth` and commit {where}")
    lines = [fresh_line]
    for stage in report.stages:
        if not stage.ran:
            lines.append(f"{stage.name}: not run: {stage.note}")
            continue
        if stage.findings:
            out.append(render_text(stage.findings, stage.summary, show_summary=False))
        s = stage.summary
        lines.append(f"{stage.name}: {s.get('objects', 0)} objects, {s.get('error', 0)} errors, "
                     f"{s.get('warning', 0)} warnings, {s.get('info', 0)} infos"
                     + (" (cached: same inputs as an earlier run)" if stage.cached else ""))
    verdict = "check passed" if report.exit_code == 0 else "check FAILED"
    lines.append(f"{verdict}: {report.files} files in {where}")
    return "\n".join([*out, *lines])

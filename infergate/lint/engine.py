"""Run the rules over the object graph and turn their hits into located, suppressible findings."""

from __future__ import annotations

import fnmatch
import gc
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from infergate.core.cpus import available_cpus
from infergate.core.findings import Finding, Severity, finding_for, load_problem_finding, summarize
from infergate.core.graph import Graph
from infergate.core.loader import Document, LoadProblem, iter_files, line_of, load_files
from infergate.lint.config import LintConfig, discover_config
from infergate.lint.platform import Platform, platform_for_paths, platform_from
from infergate.lint.scopes import group_files
from infergate.lint.suppress import SUPPRESSION_RULES, suppression_findings, suppressions
from infergate.lint.world import WORLD_RULES, enabled_codes, world_findings


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in patterns)


def selected_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Any]:
    """Rules whose code starts with a ``select`` entry (all when empty) and with no ``ignore`` entry."""
    from infergate.policies import all_rules

    return [
        r for r in all_rules() if (not select or _matches(r.code, select)) and not _matches(r.code, ignore)
    ]


def _excluded(file: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    rel = os.path.relpath(file) if os.path.isabs(file) else file
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(file, p) for p in patterns)


def lint_documents(
    documents: Sequence[Document],
    *,
    platform: Platform | None = None,
    config: LintConfig | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> tuple[list[Finding], dict[str, Any]]:
    """Lint already-loaded documents (the engine core; ``lint_paths`` loads and then calls this)."""
    config = config or LintConfig()
    graph = Graph(documents, platform or config.platform)
    rules = selected_rules(tuple(select) or config.select, (*config.ignore, *ignore))
    findings: list[Finding] = []
    suppressed = 0
    for rule in rules:
        severity = config.severity.get(rule.code, rule.severity)
        graph.current_rule = rule.code  # references the rule cannot follow are noted under its code
        try:
            hits = list(rule.check(graph))
        except Exception as exc:  # a rule bug must not hide the other rules' findings, nor pass silently
            findings.append(
                Finding(
                    "E002",
                    "rule-crashed",
                    Severity.ERROR,
                    f"rule {rule.code} crashed ({type(exc).__name__}: {exc}); its check did not run",
                )
            )
            continue
        for hit in hits:
            target, path = hit.target, hit.path
            if target.virtual and target.owner is not None:
                target, path = target.owner, ("metadata",)
            reason = suppressions(target).get(rule.code)
            if reason:
                suppressed += 1
                continue
            line = _line(target.doc, path) if path else None
            findings.append(finding_for(target.doc, rule.code, rule.slug, severity, hit.message, line=line))
    graph.current_rule = ""
    ignored = (*config.ignore, *ignore)
    world, world_suppressed = world_findings(graph, config.severity, enabled_codes((), ignored), _line)
    findings.extend(world)
    suppressed += world_suppressed
    known = {r.code for r in selected_rules()} | set(SUPPRESSION_RULES) | set(WORLD_RULES)
    findings.extend(suppression_findings(graph.objects, known))
    findings = sorted(set(findings), key=Finding.sort_key)
    summary = summarize(
        findings,
        objects=len(graph.objects),
        files=len({d.file for d in documents}),
        rules=len(rules),
        suppressed=suppressed,
    )
    return findings, summary


def _line(doc: Document, path: tuple[str | int, ...]) -> int:
    """line_of, with a fast path for top-level keys (most findings): no YAML re-parse needed."""
    if len(path) == 1 and isinstance(path[0], str) and doc.text and not doc.file.endswith(".json"):
        prefix = f"{path[0]}:"
        for offset, text in enumerate(doc.text.splitlines()):
            if text.startswith(prefix):
                return doc.first_line + offset
    return line_of(doc, path)


def cluster_of(file: str) -> Path | None:
    """``dist/<env>`` holding ``file``: each environment is its own cluster, linted on its own."""
    return _cluster_of_dir(os.path.dirname(os.path.abspath(file)))


@lru_cache(maxsize=4096)
def _cluster_of_dir(directory: str) -> Path | None:
    parts = Path(directory).parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "dist" and i + 1 < len(parts):
            return Path(*parts[: i + 2])
    return None


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: LintConfig | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    platform: Platform | None = None,
    overrides: Mapping[str, Any] | None = None,
    scope: str = "cluster",
    jobs: int = 1,
) -> tuple[list[Finding], dict[str, Any]]:
    """Lint files/directories; each ``dist/<env>`` separately, with its environment's platform facts (and a
    closed world); the other files as one cluster (``scope="cluster"``), one per directory (``"dir"``), or
    one per directory matching the config's ``scopes`` globs.

    ``platform`` replaces the facts for every path; ``overrides`` (flags) are merged over them. ``jobs``
    worker processes lint scopes in parallel (0: one per CPU); the report does not depend on it.
    Unreadable input becomes E001 findings and ``summary["input_errors"]``.
    """
    config = config if config is not None else discover_config()
    with _gc_paused():
        return _lint_paths(paths, config, select, ignore, platform, overrides, scope, jobs)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading and the graph allocate ~100 small objects per manifest and free none of them until the run
    ends: the cyclic collector's full passes over that growing heap cost ~20% and find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# (scope key, files, platform facts, config, select, ignore): one unit of work, picklable for workers
_Task = tuple[str, list[Path], Platform, LintConfig, tuple[str, ...], tuple[str, ...]]


def _lint_scope(task: _Task, load_workers: int = 1) -> tuple[list[Finding], dict[str, Any], list[LoadProblem],
                                                              set[str]]:
    _, files, facts, config, select, ignore = task
    with _gc_paused():
        documents, problems = _load_parallel(files, load_workers) if load_workers > 1 else load_files(files)
        found, part = lint_documents(documents, platform=facts, config=config, select=select, ignore=ignore)
    return found, part, problems, {d.file for d in documents}


# below this many files a second process costs more than it saves (fork + pickling the documents back)
PARALLEL_LOAD_MIN_FILES = 2000


def _load_chunk(files: list[Path]) -> tuple[list[Document], list[LoadProblem]]:
    with _gc_paused():
        return load_files(files)


def _load_parallel(files: list[Path], workers: int) -> tuple[list[Document], list[LoadProblem]]:
    """Parsing is most of a big scope's CPU (YAML): one scope's files parsed by ``workers`` processes in
    contiguous chunks, joined in file order, so the result is the serial one."""
    if len(files) < PARALLEL_LOAD_MIN_FILES:
        return load_files(files)
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(files) // workers)
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    # this process parses the first chunk itself while the workers parse the rest: one process fewer
    # to start, and a chunk fewer to pickle back
    with ProcessPoolExecutor(max_workers=len(chunks) - 1) as pool:
        pending = pool.map(_load_chunk, chunks[1:])
        documents, problems = load_files(chunks[0])
        for docs, probs in pending:
            documents.extend(docs)
            problems.extend(probs)
    return documents, problems


def _lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    config: LintConfig,
    select: Sequence[str] | None,
    ignore: Sequence[str] | None,
    platform: Platform | None,
    overrides: Mapping[str, Any] | None,
    scope: str,
    jobs: int,
) -> tuple[list[Finding], dict[str, Any]]:
    files: list[Path] = []
    problems: list[LoadProblem] = []
    for item in iter_files(paths):
        if isinstance(item, LoadProblem):
            problems.append(item)
        elif not _excluded(str(item), config.exclude):
            files.append(item)
    tasks: list[_Task] = []
    sources = []
    for key, root, group in group_files(files, scope, config.scopes, config.file, cluster_of):
        facts = platform or (platform_for_paths([root], config.platform) if root else config.platform)
        if overrides:
            facts = platform_from(overrides, facts.source + " + flags", facts)
        sources.append(facts.source)
        tasks.append((key, group, facts, config, tuple(select or ()), tuple(ignore or ())))
    workers = available_cpus() if jobs == 0 else jobs
    if workers > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            results = list(pool.map(_lint_scope, tasks))  # map keeps the scopes' order
    else:  # one scope (or one worker): --jobs parallelizes its parsing instead
        results = [_lint_scope(task, workers if len(tasks) == 1 else 1) for task in tasks]
    findings: list[Finding] = []
    totals: dict[str, Any] = {"objects": 0, "suppressed": 0, "rules": 0}
    seen: set[str] = set()
    for found, part, load_problems, doc_files in results:
        findings.extend(found)
        problems.extend(p for p in load_problems if not _excluded(p.file, config.exclude))
        seen |= doc_files
        for key in totals:
            totals[key] = max(totals[key], part[key]) if key == "rules" else totals[key] + part[key]
    problems = [p for p in problems if not _excluded(p.file, config.exclude)]
    findings.extend(load_problem_finding(p) for p in problems)
    findings.sort(key=Finding.sort_key)
    summary = summarize(findings, files=len(seen | {p.file for p in problems}), **totals)
    summary["input_errors"] = len(problems)
    summary["platform"] = sorted(set(sources)) if sources else [config.platform.source]
    summary["scopes"] = len(tasks)
    return findings, summary

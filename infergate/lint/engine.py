"""Run the rules over the object graph and turn their hits into located, suppressible findings."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from infergate.findings import Finding, Severity, finding_for, load_problem_finding, summarize
from infergate.graph import Graph
from infergate.lint.config import LintConfig, discover_config
from infergate.lint.platform import Platform, platform_for_paths
from infergate.lint.suppress import SUPPRESSION_RULES, suppression_findings, suppressions
from infergate.loader import Document, line_of, load_paths


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in patterns)


def selected_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Any]:
    """Rules whose code starts with a ``select`` entry (all when empty) and with no ``ignore`` entry."""
    from policies import all_rules

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
                target, path = target.owner, ()
            reason = suppressions(target).get(rule.code)
            if reason:
                suppressed += 1
                continue
            line = line_of(target.doc, path) if path else None
            findings.append(finding_for(target.doc, rule.code, rule.slug, severity, hit.message, line=line))
    known = {r.code for r in selected_rules()} | set(SUPPRESSION_RULES)
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


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: LintConfig | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    platform: Platform | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    """Lint files/directories. Unreadable input becomes E001 findings and ``summary["input_errors"]``."""
    config = config if config is not None else discover_config()
    if platform is None:
        platform = platform_for_paths([Path(p) for p in paths], config.platform)
    documents, problems = load_paths(paths)
    documents = [d for d in documents if not _excluded(d.file, config.exclude)]
    problems = [p for p in problems if not _excluded(p.file, config.exclude)]
    findings, summary = lint_documents(
        documents, platform=platform, config=config, select=select or (), ignore=ignore or ()
    )
    if problems:
        findings = sorted([*findings, *(load_problem_finding(p) for p in problems)], key=Finding.sort_key)
        counts = summarize(findings, objects=summary["objects"], files=summary["files"])
        summary.update({k: counts[k] for k in ("findings", "error", "warning", "info")})
        summary["files"] += len({p.file for p in problems} - {d.file for d in documents})
    summary["input_errors"] = len(problems)
    summary["platform"] = platform.source
    return findings, summary

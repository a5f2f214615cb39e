"""Findings of the world model (infergate.core.world): references the rules could not follow.

Rules resolve references through ``Graph.resolve``; what they could not follow to one object of the tree is
noted on the graph, and turned here into one finding per referenced object (not one per rule), naming every
rule that skipped a check because of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from infergate.core.findings import Finding, Severity, finding_for
from infergate.core.graph import Graph
from infergate.core.world import RefNote
from infergate.lint.suppress import suppressions

WORLD_RULES = {
    "REF001": (
        "reference-unresolved",
        Severity.INFO,
        "a referenced object is neither in the linted tree nor declared as provided (open world: the rules "
        "that need it say what they did not check; declare it with --provided KIND/NS/NAME or "
        "[tool.infergate.lint.provided], or lint with --closed-world to make it an error)",
    ),
    "REF002": (
        "reference-ambiguous",
        Severity.INFO,
        "a referenced object is defined more than once in the scope (CD503): rules do not pick a copy and "
        "skip the checks that need it",
    ),
    "REF003": (
        "namespace-defaulted-in-mixed-file",
        Severity.WARNING,
        "a file mixes objects with and without metadata.namespace and one references the other: the "
        "reference holds only while the default namespace (--namespace, config, else default) matches",
    ),
}
_CODE = {"unknown": "REF001", "ambiguous": "REF002", "namespace": "REF003"}


def _where(note: RefNote) -> tuple[str, int, str]:
    return (note.referrer.doc.file, note.referrer.doc.line, note.rule)


def world_findings(
    graph: Graph, severities: Mapping[str, Severity], enabled: set[str], line_of: object
) -> tuple[list[Finding], int]:
    """(findings, suppressed count) for the references noted while the rules ran."""
    findings: list[Finding] = []
    suppressed = 0
    for (state, kind, namespace, name), notes in sorted(graph.notes.items(), key=lambda kv: str(kv[0])):
        code = _CODE[state]
        if code not in enabled:
            continue
        notes = sorted(notes, key=_where)
        first = notes[0]
        target, path = first.referrer, first.path
        if target.virtual and target.owner is not None:
            target, path = target.owner, ("metadata",)
        if suppressions(target).get(code):
            suppressed += 1
            continue
        slug, default, _ = WORLD_RULES[code]
        message = _message(state, kind, namespace, name, notes)
        line = line_of(target.doc, path) if path else None  # type: ignore[operator]
        severity = severities.get(code, default)
        findings.append(finding_for(target.doc, code, slug, severity, message, line=line))
    return findings, suppressed


def _message(state: str, kind: str, namespace: str | None, name: str, notes: list[RefNote]) -> str:
    shown = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    if kind == "Pod":
        shown = f"pods matching {{{name}}} in {namespace}"
    skipped = _skipped(notes)
    others = len({(n.referrer.doc.file, n.referrer.doc.index) for n in notes}) - 1
    more = f" (and {others} more referrer{'s' if others > 1 else ''})" if others > 0 else ""
    if state == "unknown":
        declare = "" if kind == "Pod" else f"; declare it with --provided {kind}/{namespace or ''}/{name}"
        declare = declare.replace("//", "/")
        verb = "are" if kind == "Pod" else "is"
        return f"{shown} {verb} neither in the tree nor provided{more}; not checked: {skipped}{declare}"
    if state == "ambiguous":
        return (
            f"{shown} is defined {notes[0].detail} in this scope{more}; no copy was picked, not checked: "
            f"{skipped}"
        )
    return f"{notes[0].detail}{more}"


def _skipped(notes: list[RefNote]) -> str:
    """``need (RULE, RULE); need (RULE)``: what was skipped, grouped, in the order first noted."""
    by_need: dict[str, list[str]] = {}
    for note in sorted(notes, key=lambda n: n.rule):
        rules = by_need.setdefault(note.need or "its checks", [])
        if note.rule and note.rule not in rules:
            rules.append(note.rule)
    return "; ".join(f"{need} ({', '.join(rules)})" for need, rules in by_need.items()) or "nothing"


def enabled_codes(select: tuple[str, ...], ignore: tuple[str, ...]) -> set[str]:
    """World codes explain other rules' gaps: on unless ignored (a --select of rules keeps them)."""
    return {c for c in WORLD_RULES if not any(c.startswith(p) for p in ignore)}


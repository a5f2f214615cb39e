"""Render findings as text, json, sarif (2.1.0), github annotations or junit XML."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from infergate import __version__
from infergate.core.findings import Finding, Severity

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What a reporter needs to know about a rule (SARIF tool.driver.rules, junit grouping)."""

    code: str
    slug: str
    summary: str
    help_text: str = ""
    help_uri: str | None = None
    default_severity: Severity = Severity.ERROR


def render_text(findings: Sequence[Finding], summary: dict[str, Any], show_summary: bool = True) -> str:
    lines = []
    for f in findings:
        where = f"{f.file}:{f.line}" if f.line else (f.file or "<input>")
        path = f" at {f.path}" if f.path else ""
        obj = f" ({f.object_ref})" if f.object_ref else ""
        lines.append(f"{where}: {f.code} [{f.severity.value}] {f.message}{path}{obj}")
    if show_summary:
        lines.append(
            f"{summary.get('files', 0)} files, {summary.get('objects', 0)} objects: "
            f"{summary.get('error', 0)} errors, {summary.get('warning', 0)} warnings, "
            f"{summary.get('info', 0)} infos"
            + (f", {summary['suppressed']} suppressed" if summary.get("suppressed") else ""))
    return "\n".join(lines)


def render_json(findings: Sequence[Finding], summary: dict[str, Any]) -> str:
    return json.dumps({"findings": [f.to_dict() for f in findings], "summary": summary}, indent=2,
                      sort_keys=False)


def render_github(findings: Sequence[Finding], summary: dict[str, Any]) -> str:
    def prop(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A") \
            .replace(",", "%2C")

    def data(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    lines = []
    for f in findings:
        props = [f"file={prop(f.file or '')}"]
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={prop(f.code + ' ' + f.slug)}")
        obj = f" ({f.object_ref})" if f.object_ref else ""
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{data(f.message + obj)}")
    return "\n".join(lines)


def render_junit(findings: Sequence[Finding], summary: dict[str, Any], suite: str = "infergate") -> str:
    """One testcase per finding (failed) plus one passing case when clean, grouped by rule code."""
    from xml.sax.saxutils import escape, quoteattr  # pulls in urllib: keep it off the hook's start-up

    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    cases = []
    for code in sorted(by_code):
        for f in by_code[code]:
            name = f"{f.code} {f.object_ref or f.file}"
            where = f"{f.file}:{f.line}" if f.line else (f.file or "")
            tag = "failure" if f.severity is not Severity.INFO else "skipped"
            body = escape(f"{where}: {f.message}" + (f" at {f.path}" if f.path else ""))
            cases.append(f'    <testcase classname={quoteattr(f.code)} name={quoteattr(name)}>'
                         f'<{tag} message={quoteattr(f.message)} type={quoteattr(f.severity.value)}>'
                         f'{body}</{tag}></testcase>')
    if not findings:
        cases.append(f'    <testcase classname="infergate" name={quoteattr(suite + " clean")}/>')
    failures = sum(1 for f in findings if f.severity is not Severity.INFO)
    skipped = len(findings) - failures
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="infergate" tests="{len(cases)}" failures="{failures}">\n'
            f'  <testsuite name={quoteattr(suite)} tests="{len(cases)}" failures="{failures}" '
            f'skipped="{skipped}" errors="0">\n' + "\n".join(cases) + "\n  </testsuite>\n</testsuites>")


def render_sarif(findings: Sequence[Finding], summary: dict[str, Any], rules: Sequence[RuleMeta] = (),
                 tool_name: str = "infergate") -> str:
    known = {r.code: r for r in rules}
    for f in findings:  # every reported code must have a rule entry
        if f.code not in known:
            known[f.code] = RuleMeta(f.code, f.slug, f.slug.replace("-", " "), default_severity=f.severity)
    ordered = sorted(known.values(), key=lambda r: r.code)
    index = {r.code: i for i, r in enumerate(ordered)}
    sarif_rules = []
    for r in ordered:
        rule: dict[str, Any] = {
            "id": r.code, "name": r.slug, "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.help_text or r.summary},
            "help": {"text": r.help_text or r.summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.default_severity]},
        }
        if r.help_uri:
            rule["helpUri"] = r.help_uri
        sarif_rules.append(rule)
    results = []
    for f in findings:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": f.file or "."}}}
        if f.line:
            location["physicalLocation"]["region"] = {"startLine": f.line}
        if f.object_ref:
            location["logicalLocations"] = [{"fullyQualifiedName": f.object_ref.replace(" ", "/"),
                                             "kind": "resource"}]
        result: dict[str, Any] = {
            "ruleId": f.code, "ruleIndex": index[f.code], "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" at {f.path}" if f.path else "")},
            "locations": [location],
        }
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA_URI, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": tool_name, "version": __version__,
                                      "informationUri": "https://github.com/infergate/infergate",
                                      "rules": sarif_rules}},
                  "results": results}],
    }
    return json.dumps(doc, indent=2)


Renderer = Callable[..., str]
RENDERERS: dict[str, Renderer] = {
    "text": render_text, "json": render_json, "sarif": render_sarif,
    "github": render_github, "junit": render_junit,
}

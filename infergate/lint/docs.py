"""The rule reference, generated from the registry: `infergate rules` (table/markdown/json) and `explain`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infergate.lint.suppress import PREFIX, SUPPRESSION_RULES
from infergate.lint.world import WORLD_RULES

# Codes the engine reports itself (not rules of the registry): world-model references and suppressions.
ENGINE_RULES = {**WORLD_RULES, **SUPPRESSION_RULES}

REGENERATE = "infergate rules --format markdown > docs/rules.md"


def _rules() -> Sequence[Any]:
    from infergate.policies import all_rules

    return all_rules()


def rules_table() -> str:
    rows = [(r.code, r.severity.value, r.slug, r.summary) for r in _rules()]
    rows += [
        (code, sev.value, slug, summary) for code, (slug, sev, summary) in sorted(ENGINE_RULES.items())
    ]
    width = max(len(r[2]) for r in rows)
    lines = [f"{'CODE':<7} {'SEVERITY':<8} {'SLUG':<{width}} SUMMARY"]
    lines += [f"{c:<7} {s:<8} {slug:<{width}} {summary}" for c, s, slug, summary in rows]
    return "\n".join(lines)


def rules_json() -> str:
    return json.dumps(
        [
            {
                "code": r.code,
                "slug": r.slug,
                "severity": r.severity.value,
                "summary": r.summary,
                "rationale": r.rationale,
                "fix": r.fix,
                "links": list(r.links),
                "family": r.family,
            }
            for r in _rules()
        ],
        indent=2,
    )


def explain(code: str) -> str | None:
    from infergate.policies import rule_by_code

    r = rule_by_code(code)
    if r is None:
        wanted = code.strip().upper()
        entry = ENGINE_RULES.get(wanted)
        if entry is None:
            return None
        slug, severity, summary = entry
        if wanted in WORLD_RULES:
            return (
                f"{wanted} {slug} [{severity.value}]\n\n{summary[0].upper()}{summary[1:]}.\n\n"
                "See README.md, section Lint (world model, scopes, namespaces)."
            )
        return (
            f"{code.upper()} {slug} [{severity.value}]\n\n{summary}.\n\nSuppressions are annotations "
            f'`{PREFIX}<CODE>: "<reason>"` on the object a finding is about.'
        )
    out = [
        f"{r.code} {r.slug} [{r.severity.value}]",
        "",
        r.summary,
        "",
        "Why:",
        _indent(r.rationale),
        "",
        "Fix:",
        _indent(r.fix),
    ]
    if r.links:
        out += ["", "See:", *(f"  {link}" for link in r.links)]
    for title, examples in (("Bad (fires; `# <-` marks the reported line)", r.bad), ("Good", r.good)):
        for example in examples:
            out += ["", f"{title}:", _indent(example.rstrip(), 4)]
    if any("# context: " in e for e in (*r.bad, *r.good)):
        out += ["", "`# context: NAME` examples are linted with shared, clean objects (docs/rules.md, "
                "section 'Example contexts')."]
    out += ["", f'Suppress on one object (a reason is required): {PREFIX}{r.code}: "<reason>"']
    return "\n".join(out)


def _indent(text: str, by: int = 2) -> str:
    return "\n".join((" " * by + line) if line.strip() else "" for line in text.splitlines())


def rules_markdown() -> str:
    rules = _rules()
    out = [
        "# infergate lint rules",
        "",
        f"<!-- generated from policies/ by `{REGENERATE}`; tests/test_lint.py keeps it current -->",
        "",
        "Codes are stable. Select or ignore them by code or prefix (`--select GW,INF301`), "
        "override severities "
        "in `[tool.infergate.lint]`, and suppress one object with the annotation "
        f'`{PREFIX}<CODE>: "<reason>"` (a reason is required: an empty one is finding SUP001).',
        "",
        "Rules follow references through the world model: an object is in the linted tree, provided "
        "(`--provided KIND/NS/NAME`, `[tool.infergate.lint.provided]`, the environment's platform facts) or "
        "unknown. In a closed world (`dist/<env>` of an infergate project, `--closed-world`) an unknown "
        "reference is the rule's finding; elsewhere it is one REF001 info naming what the rules skipped. "
        "The examples below are linted as a closed world.",
        "",
        "| code | slug | severity | summary |",
        "|---|---|---|---|",
    ]
    out += [
        f"| [{r.code}](#{r.code.lower()}) | `{r.slug}` | {r.severity.value} | {_cell(r.summary)} |"
        for r in rules
    ]
    out += [
        f"| {code} | `{slug}` | {sev.value} | {_cell(summary)} |"
        for code, (slug, sev, summary) in sorted(ENGINE_RULES.items())
    ]
    for r in rules:
        out += [
            "",
            f"## {r.code}",
            "",
            f"**{r.slug}** · {r.severity.value} · family `{r.family}`",
            "",
            r.summary[0].upper() + r.summary[1:] + ".",
            "",
            f"**Why.** {r.rationale}",
            "",
            f"**Fix.** {r.fix}",
        ]
        if r.links:
            out += ["", "**See.** " + " · ".join(f"<{link}>" for link in r.links)]
        for title, examples in (("Bad (`# <-` marks the reported line)", r.bad), ("Good", r.good)):
            for example in examples:
                out += ["", f"{title}:", "", "```yaml", example.rstrip(), "```"]
    from infergate.policies._examples import CONTEXTS

    out += ["", "## Example contexts"]
    for name, text in sorted(CONTEXTS.items()):
        out += ["", f"`# context: {name}`:", "", "```yaml", text.rstrip(), "```"]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")

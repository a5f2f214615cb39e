"""Generate docs/architecture.md (mermaid) from the code and the committed output, so the picture
cannot drift: the charts come from charts/app.py's source, the rule families from the registry, the
sync waves from dist/<env>/argocd/, the hooks from .pre-commit-hooks.yaml.

    python -m infergate.devtools.archdoc > docs/architecture.md      (tests/test_archdoc.py keeps it current)
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent
REGENERATE = "python -m infergate.devtools.archdoc > docs/architecture.md"
# The reference deployment (Pattern 1), whose committed output the sync-wave picture shows.
REFERENCE_PROJECT = Path("examples") / "pattern1"
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"


def _node_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def chart_calls(function: str, source: Path = REPO / "charts" / "app.py") -> list[tuple[str, str]]:
    """(chart class, condition) for every `*Chart(...)` call in ``function``, in source order; the
    condition is the enclosing `for`/`if` (e.g. "for model in env.models")."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, context: str) -> None:
        for child in ast.iter_child_nodes(node):
            here = context
            if isinstance(child, ast.For):
                here = f"for {ast.unparse(child.target)} in {ast.unparse(child.iter)}"
            elif isinstance(child, ast.If):
                here = f"if {ast.unparse(child.test)}"
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) \
                    and child.func.id.endswith("Chart"):
                found.append((child.func.id, context))
            visit(child, here)

    visit(func, "")
    return found


def environments(env_dir: Path) -> list[tuple[str, str | None]]:
    """(environment, base) for each file; `_`-prefixed files are bases only."""
    out = []
    for path in sorted(env_dir.glob("*.yaml")):
        base = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("base")
        out.append((path.stem, Path(base).stem if isinstance(base, str) else None))
    return out


def sync_waves(app_dir: Path) -> dict[int, list[str]]:
    """Argo CD Applications of one environment, grouped by sync wave."""
    waves: dict[int, list[str]] = defaultdict(list)
    for path in sorted(app_dir.glob("Application.*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        wave = int((doc["metadata"].get("annotations") or {}).get(WAVE_ANNOTATION, "0"))
        waves[wave].append(doc["metadata"]["name"])
    return dict(sorted(waves.items()))


def rule_families() -> list[str]:
    from infergate.policies import all_rules

    return sorted({re.sub(r"\d+$", "", r.code) for r in all_rules()})


def _flow(repo: Path) -> list[str]:
    from infergate.charts.health_checks import HEALTH_CHECKS
    from infergate.core.reporters import RENDERERS

    lines = ["flowchart LR"]
    lines.append('  subgraph envs["environments/*.yaml"]')
    for name, base in environments(repo / REFERENCE_PROJECT / "environments"):
        lines.append(f'    env_{_node_id(name)}["{name}"]')
        if base:
            lines.append(f"    env_{_node_id(name)} -. base .-> env_{_node_id(base)}")
    lines.append("  end")
    lines.append('  envs --> config["infergate.synth.config<br/>strict YAML, JSON Schema, typed model"]')
    lines.append('  subgraph charts["charts/ (cdk8s, one App per environment)"]')
    for chart, condition in chart_calls("add_environment"):
        label = f"{chart}<br/><i>{condition}</i>" if condition else chart
        lines.append(f'    c_{chart}["{label}"]')
    lines.append("  end")
    fleet = [chart for chart, _ in chart_calls("synth_fleet")]
    lines.append("  config --> charts")
    lines.append('  charts --> dist["dist/&lt;env&gt;/&lt;folder&gt;/&lt;Kind&gt;.&lt;name&gt;.yaml"]')
    for chart in fleet:
        lines.append(f'  config --> f_{chart}["{chart}"] --> fleet["dist/fleet/"]')
    families = ", ".join(rule_families())
    lines.append('  dist --> validate["infergate validate<br/>Kubernetes + pinned CRDs + CEL"]')
    lines.append(f'  dist --> lint["infergate lint<br/>rule families: {families}"]')
    lines.append(f'  validate --> report["{" | ".join(RENDERERS)}"]')
    lines.append("  lint --> report")
    lines.append('  report --> exit["exit 0 clean / 1 findings / 2 bad input"]')
    kinds = sorted({kind for _, kind in HEALTH_CHECKS})
    lines.append(f'  dist --> argocd["Argo CD app-of-apps<br/>health: {", ".join(kinds)}"]')
    lines.append("  fleet --> argocd")
    return lines


def _loop(repo: Path) -> list[str]:
    hooks = [h["id"] for h in yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))]
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "ci.yaml").read_text(encoding="utf-8"))
    steps = [s["name"] for job in workflow["jobs"].values() for s in job["steps"] if "name" in s]
    lines = ["flowchart LR", '  edit["edit environments/ or charts/"] --> synth["infergate synth"]',
             '  synth --> check["infergate check<br/>fresh + valid + lint-clean"]',
             f'  check --> precommit["pre-commit: {", ".join(hooks)}"]',
             '  precommit --> ci["GitHub Actions"]']
    for i, step in enumerate(steps):
        lines.append(f'  ci --> ci{i}["{step}"]')
    lines.append('  ci --> merge["merge to main"] --> argo["Argo CD syncs dist/"]')
    return lines


def _waves(repo: Path, env: str) -> list[str]:
    lines = ["flowchart TB", f'  root["{env}-root (bootstrap)"]']
    previous = "root"
    for wave, apps in sync_waves(repo / REFERENCE_PROJECT / "dist" / env / "argocd").items():
        node = f"wave{_node_id(str(wave))}"
        lines.append(f'  subgraph {node}["sync-wave {wave}"]')
        lines.extend(f'    {_node_id(app)}["{app}"]' for app in apps)
        lines.append("  end")
        lines.append(f"  {previous} --> {node}")
        previous = node
    return lines


def render(repo: Path = REPO) -> str:
    envs = [name for name, _ in environments(repo / REFERENCE_PROJECT / "environments")
            if not name.startswith("_")]
    reference = envs[0]
    parts = [
        "# infergate architecture",
        "",
        f"<!-- generated by `{REGENERATE}`; tests/test_archdoc.py fails when it is stale -->",
        "",
        "## Data flow",
        "",
        "From the environment files to what Argo CD syncs, and what proves it on the way.",
        "",
        "```mermaid", *_flow(repo), "```",
        "",
        "## Developer loop",
        "",
        "```mermaid", *_loop(repo), "```",
        "",
        f"## Argo CD sync waves (`{reference}`)",
        "",
        "Each wave waits until the previous one is Healthy (custom Lua health checks make that mean "
        "real readiness for LLMInferenceService, InferencePool and Istio).",
        "",
        "```mermaid", *_waves(repo, reference), "```",
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")

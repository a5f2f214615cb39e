"""Oracle check (`make oracle`, not part of `make test`): infergate vs kubeconform vs kubectl-validate.

Builds kubeconform and kubectl-validate at pinned versions with the Go toolchain through the Go module proxy
(binaries cached under ``<infergate cache>/tools/``; skipped with a clear message where Go or the proxy is
missing), runs all three on the same corpus (the validator's fixtures and every example project's dist/),
one verdict per object, and prints every disagreement. kubectl-validate runs the API server's own validation
code (schemas and CEL), so a disagreement with it is a bug until explained. Core kinds: kubeconform needs
its default schema location (network), so it only judges CRD kinds (via `infergate schemas export`);
kubectl-validate gets the pinned CRDs from a local directory.

Usage: .venv/bin/python bench/oracle.py [PATH...]   (default: tests/fixtures/validate examples/*/dist)
Exit 0 when every available oracle agrees with infergate, 1 on a disagreement, 0 with SKIP when none built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infergate.crds import lockfile as lock  # noqa: E402

TOOLS = {
    "kubeconform": ("github.com/yannh/kubeconform/cmd/kubeconform", "v0.7.0"),
    "kubectl-validate": ("sigs.k8s.io/kubectl-validate", "v0.0.4"),
}
BUILD_TIMEOUT_S = 900


def go_tool(name: str) -> tuple[Path | None, str]:
    """(binary, "") when built or cached, else (None, reason)."""
    module, version = TOOLS[name]
    target_dir = lock.cache_root() / "tools" / f"{name}-{version}"
    binary = target_dir / name
    if binary.exists():
        return binary, ""
    go = shutil.which("go")
    if go is None:
        return None, "no Go toolchain on PATH"
    env = {**os.environ, "GOBIN": str(target_dir), "GOFLAGS": "-mod=mod"}
    try:
        result = subprocess.run([go, "install", f"{module}@{version}"], capture_output=True, text=True,
                                env=env, timeout=BUILD_TIMEOUT_S, check=False, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return None, f"`go install {module}@{version}` timed out after {BUILD_TIMEOUT_S}s"
    if result.returncode != 0 or not binary.exists():
        tail = " ".join(result.stderr.strip().splitlines()[-2:])
        return None, f"`go install {module}@{version}` failed (module proxy unreachable?): {tail}"
    return binary, ""


def infergate_verdicts(paths: list[str]) -> dict[tuple[str, str], bool]:
    """(file, kind/name) -> valid? (CEL on, strict)."""
    from infergate.core.loader import load_paths
    from infergate.validate import validate_paths

    findings, _ = validate_paths(paths)
    bad = {(f.file, f"{f.kind}/{f.name}") for f in findings if f.severity.value == "error"}
    for f in findings:
        if f.severity.value == "error":
            CODES.setdefault((f.file, f"{f.kind}/{f.name}"), set()).add(f.code)
            OURS.setdefault((f.file, f"{f.kind}/{f.name}"), []).append(f.message)
            ERRORS.setdefault((f.file, f"{f.kind}/{f.name}"), []).append((f.code, f.message))
    documents, _ = load_paths(paths)
    out = {}
    for doc in documents:
        if isinstance(doc.obj, dict):
            key = (doc.file, f"{doc.obj.get('kind')}/{(doc.obj.get('metadata') or {}).get('name')}")
            out[key] = key not in bad
    return out


def kubeconform_verdicts(binary: Path, paths: list[str], schemas: Path) -> dict[tuple[str, str], bool]:
    template = str(schemas) + "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    command = [str(binary), "-strict", "-verbose", "-output", "json", "-schema-location", template, *paths]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    out = {}
    for res in json.loads(result.stdout or "{}").get("resources", []):
        if res.get("status") in ("statusValid", "statusInvalid"):
            out[(res["filename"], f"{res['kind']}/{res['name']}")] = res["status"] == "statusValid"
    return out


def kubectl_validate_verdicts(binary: Path, files: list[str], crd_dir: Path) -> dict[tuple[str, str], bool]:
    from infergate.core.loader import load_paths

    # v0.0.4 has hard-coded core schemas up to Kubernetes 1.30 (newer ones it would fetch from GitHub)
    result = subprocess.run([str(binary), *files, "--local-crds", str(crd_dir), "--version", "1.30",
                             "--output", "json"], capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"kubectl-validate gave no JSON: {result.stderr.strip()[:300]}")
        return {}
    out = {}
    for file in files:
        documents, _ = load_paths([file])
        verdicts = report.get(file) if isinstance(report, dict) else None
        if not isinstance(verdicts, list):
            continue
        for doc, verdict in zip(documents, verdicts, strict=False):
            if isinstance(doc.obj, dict) and verdict.get("status") in ("Success", "Failure"):
                message = verdict.get("message", "")
                if "failed to retrieve validator" in message or "not found" in message.lower()[:80]:
                    continue  # no schema for the kind: not a verdict
                key = (file, f"{doc.obj.get('kind')}/{(doc.obj.get('metadata') or {}).get('name')}")
                out[key] = verdict.get("status") == "Success"
                if not out[key]:
                    MESSAGES[key] = message[:300]
    return out


def mutants(paths: list[str], out_dir: Path, per_object: int = 6, seed: int = 7) -> list[str]:
    """Deterministic single-defect mutants of every object: an unknown field, a wrong type, a dropped
    field, an out-of-range or negative number, a changed enum/string value. One file per mutant."""
    import copy
    import random

    import yaml

    from infergate.core.loader import load_paths

    rng = random.Random(seed)
    documents, _ = load_paths(paths)
    written: list[str] = []
    for n, doc in enumerate(documents):
        if not isinstance(doc.obj, dict) or "kind" not in doc.obj:
            continue
        leaves = list(_leaves(doc.obj.get("spec", {}), ("spec",)))
        for m in range(per_object):
            obj = copy.deepcopy(doc.obj)
            if not leaves:
                break
            path, value = leaves[rng.randrange(len(leaves))]
            parent = obj
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            kind = m % 5
            if kind == 0 and isinstance(parent, dict):
                parent["bogusField"] = "x"
            elif kind == 1:
                parent[last] = [value] if not isinstance(value, list) else "not-a-list"
            elif kind == 2 and isinstance(parent, dict):
                del parent[last]
            elif kind == 3:
                parent[last] = -1 if isinstance(value, int) and not isinstance(value, bool) else 70000
            else:
                parent[last] = f"{value}-Mutated/..//"
            name = f"m{n:04d}-{m}.yaml"
            (out_dir / name).write_text(yaml.safe_dump(obj, sort_keys=False))
            written.append(str(out_dir / name))
    return written


def _leaves(node: object, path: tuple) -> list[tuple[tuple, object]]:
    out: list[tuple[tuple, object]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append(((*path, key), value))
            out.extend(_leaves(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append(((*path, i), value))
            out.extend(_leaves(value, (*path, i)))
    return out


MESSAGES: dict[tuple[str, str], str] = {}
CODES: dict[tuple[str, str], set[str]] = {}
OURS: dict[tuple[str, str], list[str]] = {}
ERRORS: dict[tuple[str, str], list[tuple[str, str]]] = {}
# Known, explained divergences of kubectl-validate v0.0.4 on built-in kinds: it checks their OpenAPI schema
# only, not the API server's native (Go) validation and decoding, which reject these objects.
KNOWN = (
    ("is a required property", "kubectl-validate skips `required` of built-in kinds; the API server's "
                               "native validation rejects the missing field"),
    ("is not valid under any of the schemas listed in the 'oneOf' keyword",
     "a list or map where an IntOrString belongs: the API server cannot decode it"),
)


def explanation(name: str, key: tuple[str, str], ours_valid: bool) -> str | None:
    if ours_valid:
        return None
    messages = OURS.get(key, [])
    if name == "kubeconform" and ERRORS.get(key) and all(
            code == "V002" or message.startswith("Duplicate value") for code, message in ERRORS[key]):
        return "only CEL rules / list-map keys fail (kubeconform checks neither)"
    if name == "kubectl-validate" and messages:
        reasons = {why for msg in messages for pattern, why in KNOWN if pattern in msg}
        if reasons and all(any(p in msg for p, _ in KNOWN) for msg in messages):
            return "; ".join(sorted(reasons))
    return None


def main(argv: list[str]) -> int:
    from infergate.core.loader import iter_files
    from infergate.project.discovery import require_project
    from infergate.validate import crd_schema
    from infergate.validate.export import export_schemas

    examples = sorted(p.parent for p in (REPO / "examples").glob("*/infergate.toml"))
    paths = argv or [str(REPO / "tests" / "fixtures" / "validate"),
                     *(str(require_project(p).dist_dir) for p in examples)]
    files = [str(p) for p in iter_files(paths) if isinstance(p, Path)]
    disagreements = 0
    ran = 0
    with tempfile.TemporaryDirectory(prefix="infergate-oracle-") as tmp:
        (Path(tmp) / "mutants").mkdir()
        files += mutants(files, Path(tmp) / "mutants")
        ours = infergate_verdicts(files)
        schemas, crd_dir = Path(tmp) / "schemas", Path(tmp) / "crds"
        export_schemas(schemas)
        crd_dir.mkdir()
        entries = {c.source for c in crd_schema.chosen_crds()[0]}
        for entry in lock.read_lock():
            if entry.name in entries:
                shutil.copy(lock.verified_path(entry), crd_dir / (entry.name.replace("/", "_") + ".yaml"))
        for name, run in (("kubeconform", lambda b: kubeconform_verdicts(b, files, schemas)),
                          ("kubectl-validate", lambda b: kubectl_validate_verdicts(b, files, crd_dir))):
            binary, reason = go_tool(name)
            if binary is None:
                print(f"SKIP {name}: {reason}")
                continue
            ran += 1
            theirs = run(binary)
            compared = 0
            for key, verdict in sorted(theirs.items()):
                if key not in ours:
                    continue
                compared += 1
                why = explanation(name, key, ours[key]) if ours[key] != verdict else None
                if why:
                    print(f"explained {name}: {key[0]} {key[1]}: {why}")
                elif ours[key] != verdict:
                    disagreements += 1
                    mine, other = ("valid" if v else "invalid" for v in (ours[key], verdict))
                    print(f"DISAGREE {name}: {key[0]} {key[1]}: infergate says {mine}, {name} says {other}"
                          + (f" ({MESSAGES[key]})" if key in MESSAGES else ""))
            print(f"{name}: {compared} objects compared")
    if ran == 0:
        print("SKIP: no oracle could be built")
        return 0
    print(f"{disagreements} disagreement(s)")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

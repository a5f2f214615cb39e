"""The `infergate verify` command body: pick the server, sync each environment, render the findings."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infergate.apiserver import command as apiserver
from infergate.apiserver import crds, process
from infergate.apiserver.client import ApiError, KubeClient, load_kubeconfig
from infergate.core.errors import InfergateError
from infergate.core.findings import Finding, Severity, exit_code, summarize
from infergate.core.reporters import RENDERERS, render_text
from infergate.verify import codes
from infergate.verify.plan import env_dirs, plan_env
from infergate.verify.run import EnvResult, Syncer, verify_env


def _target(path: Path | None, project: Path | None) -> Path:
    if path is not None:
        if not path.is_dir():
            raise InfergateError("not a directory (pass dist/ or dist/<env>)", file=str(path))
        return path
    from infergate.project.discovery import require_project

    found = require_project(project)
    if not found.dist_dir.is_dir():
        raise InfergateError("no dist/ yet: run `infergate synth` first", file=str(found.dist_dir))
    try:  # findings name files as the user would type them from here
        return found.dist_dir.relative_to(Path.cwd().resolve())
    except ValueError:
        return found.dist_dir


def run_verify(path: Path | None, *, apiserver_mode: str | None, kubeconfig: Path | None, context: str | None,
               envs: tuple[str, ...], fmt: str, fail_on: str, binaries: Path | None, project: Path | None,
               progress: Callable[[str], None]) -> tuple[str, int, list[EnvResult]]:
    if kubeconfig is not None and apiserver_mode is not None:
        raise InfergateError("--apiserver and --kubeconfig are exclusive: one server per run")
    try:
        return _run_verify(path, apiserver_mode=apiserver_mode, kubeconfig=kubeconfig, context=context,
                           envs=envs, fmt=fmt, fail_on=fail_on, binaries=binaries, project=project,
                           progress=progress)
    except ApiError as exc:  # a request outside any one object (discovery, namespaces) was refused
        raise InfergateError(f"the API server refused a request: {exc.message} (HTTP {exc.code})") from exc


def _run_verify(path: Path | None, *, apiserver_mode: str | None, kubeconfig: Path | None,
                context: str | None, envs: tuple[str, ...], fmt: str, fail_on: str, binaries: Path | None,
                project: Path | None, progress: Callable[[str], None]) -> tuple[str, int, list[EnvResult]]:
    target = _target(path, project)
    dirs = [d for d in env_dirs(target) if not envs or d.name in envs]
    if not dirs:
        raise InfergateError(f"no environment {', '.join(envs)} under {target}")
    if kubeconfig is not None:
        endpoint = load_kubeconfig(kubeconfig, context)
        with KubeClient(endpoint) as client:
            progress(f"verify: dry-run against {endpoint.server} ({endpoint.source}); nothing is persisted")
            results = _verify_all(client, dirs, dry_run=True, progress=progress)
    else:
        results = _verify_local(target, dirs, binaries, progress)
    findings = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    summary = summarize(findings, objects=sum(r.objects for r in results),
                        files=sum(r.files for r in results),
                        environments=[r.env for r in results], applied=sum(r.applied for r in results),
                        unchanged=sum(r.unchanged for r in results),
                        mode="dry-run" if kubeconfig is not None else "apply")
    if fmt == "text":
        output = render_text(findings, summary, show_summary=False)
    elif fmt == "sarif":
        output = RENDERERS["sarif"](findings, summary, rules=codes.ALL, tool_name="infergate-verify")
    else:
        output = RENDERERS[fmt](findings, summary)
    input_error = any(f.code == codes.UNREADABLE.code for f in findings)
    return output, exit_code(findings, Severity(fail_on), input_error=input_error), results


def _verify_all(client: KubeClient, dirs: list[Path], *, dry_run: bool,
                progress: Callable[[str], None]) -> list[EnvResult]:
    syncer = Syncer(client, dry_run=dry_run)
    results = []
    for directory in dirs:
        plan = plan_env(directory, syncer.namespaced)
        try:
            result = verify_env(syncer, plan)
        finally:
            if not dry_run:
                syncer.cleanup()
        progress(env_line(result, dry_run))
        results.append(result)
    return results


def env_line(result: EnvResult, dry_run: bool) -> str:
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.code] = counts.get(f.code, 0) + 1
    found = ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) or "no findings"
    settled = f" ({result.settled} after storing status defaults once)" if result.settled else ""
    second = "" if dry_run else f", {result.unchanged} unchanged on a second apply{settled}"
    skipped = f"; not in this dist: {len(result.skipped_apps)} Applications" if result.skipped_apps else ""
    return (f"verify {result.env}: {result.objects} objects, {result.applied} "
            f"{'accepted by the dry-run' if dry_run else 'applied'}{second}; {found}{skipped} "
            f"({result.seconds:.1f} s)")


def _verify_local(target: Path, dirs: list[Path], binaries: Path | None,
                  progress: Callable[[str], None]) -> list[EnvResult]:
    """Use the running hermetic server, or start a throwaway one for this run."""
    state = process.read_state(process.default_state_dir())
    if state is not None and process.is_running(state):
        progress(f"verify: using the hermetic server at {state.server}")
        with state.client() as client:
            entries = crds.select("used", [target])
            report = crds.install(client, entries)
            progress(f"verify: {report.crds} pinned CRDs in place ({report.seconds:.1f} s)")
            return _verify_all(client, dirs, dry_run=False, progress=progress)
    with tempfile.TemporaryDirectory(prefix="infergate-verify-") as tmp:
        state_dir = Path(tmp) / "apiserver"
        started = time.monotonic()
        report = apiserver.up(binaries_dir=binaries, state_dir=state_dir, crd_choice="used",
                              dist_paths=[target], progress=progress)
        if report.build is not None:
            for line in apiserver.build_lines(report.build):
                progress(line)
        progress(f"verify: throwaway kube-apiserver {report.state.kubernetes_version} ready at "
                 f"{report.state.server} in {report.start_s:.1f} s")
        if report.crds is not None:
            progress(f"verify: installed {report.crds.crds} CRDs from {len(report.crds.files)} pinned "
                     f"files in {report.crds.seconds:.1f} s (up {time.monotonic() - started:.1f} s in all)")
        try:
            with report.state.client() as client:
                return _verify_all(client, dirs, dry_run=False, progress=progress)
        finally:
            process.stop(state_dir)


def summary_dict(results: list[EnvResult]) -> dict[str, Any]:
    return {r.env: {"objects": r.objects, "applied": r.applied, "unchanged": r.unchanged,
                    "seconds": round(r.seconds, 2)} for r in results}

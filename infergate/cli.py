"""The `infergate` command line (contract: ARCHITECTURE.md, "CLI contract").

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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="infergate")
def main() -> None:
    """GitOps manifest generator and policy linter for LLM inference on Kubernetes."""


@main.command()
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Environment to synthesize (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: dist/ of this repository).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Environments synthesized in parallel worker processes (0: one per core).")
@click.option("--env-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of environment files (default: environments/ of this repository).")
@reports_errors
def synth(envs: tuple[str, ...], out: Path | None, jobs: int, env_dir: Path | None) -> None:
    """Synthesize environments/*.yaml into dist/<env>/ (same result as `cdk8s synth`)."""
    from infergate.synth.run import DEFAULT_OUT, synthesize

    if jobs == 0:
        from infergate.core.cpus import available_cpus

        jobs = available_cpus()
    from infergate.synth.run import ENVIRONMENTS_DIR

    written = synthesize(list(envs) or None, out or DEFAULT_OUT, env_dir=env_dir or ENVIRONMENTS_DIR,
                         jobs=jobs)
    for path in written:
        click.echo(f"synthesized {path}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kubernetes-version", default=None, envvar="INFERGATE_KUBERNETES_VERSION",
              help="Kubernetes minor of the core schemas (env: INFERGATE_KUBERNETES_VERSION). Default: the "
                   "kubernetesVersion of the environment whose dist/<env> holds the file, else 1.33.")
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
    """Validate objects against Kubernetes and pinned CRD schemas (and their CEL rules)."""
    from infergate.validate.cli import run_validate

    sys.exit(run_validate(list(paths), **options))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
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
@reports_errors
def lint(paths: tuple[Path, ...], **options: Any) -> None:
    """Check the security model and the inference wiring across all objects."""
    from infergate.lint.command import run_lint

    output, code = run_lint(list(paths), **options)
    if output:
        click.echo(output)
    sys.exit(code)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--no-cache", is_flag=True, help="Always re-synthesize, even when no input changed.")
@reports_errors
def check(path: Path | None, envs: tuple[str, ...], no_cache: bool) -> None:
    """Synthesize to a temp dir, fail if dist/ differs, then validate and lint dist/."""
    from infergate.check.run import render_report, run_check

    report = run_check(path, list(envs), use_cache=not no_cache)
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
@reports_errors
def flows(path: Path, fmt: str) -> None:
    """Show who can talk to whom on which port (NetworkPolicy reachability).

    A cell is allowed (every pod pair), partial (some pairs, or some addresses of a pair: an ipBlock over
    part of a range; PAIRS then says '+N partly') or denied.
    """
    from infergate.netpol.command import run_flows

    click.echo(run_flows(path, fmt), nl=False)


@main.group(cls=_Group)
def crds() -> None:
    """Pinned upstream CRDs and schemas (infergate/crds/crds.lock)."""


@crds.command("sync")
@click.option("--mirror", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Copy from this directory instead of downloading (default: $INFERGATE_MIRROR).")
@click.option("--quiet", "-q", is_flag=True)
@reports_errors
def crds_sync(mirror: Path | None, quiet: bool) -> None:
    """Fetch every pinned file into the cache and verify its sha256."""
    from infergate.crds import lockfile as lock

    results = lock.sync(mirror=mirror)
    if not quiet:
        for entry, source in results:
            click.echo(f"{entry.name}: {'ok (cached)' if source == 'cached' else 'fetched from ' + source}")
        click.echo(f"{len(results)} files verified in {lock.cache_root() / 'files'}")


@crds.command("list")
@reports_errors
def crds_list() -> None:
    """Show the pinned files and whether the cache holds a verified copy."""
    from infergate.crds import lockfile as lock

    for entry in lock.read_lock():
        state = "cached" if lock.is_cached(entry) else "missing"
        click.echo(f"{entry.name}\t{entry.version}\t{state}\t{entry.url}")


@main.group(cls=_Group)
def schemas() -> None:
    """JSON schemas derived from the pinned CRDs."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@reports_errors
def schemas_export(directory: Path) -> None:
    """Write kubeconform-compatible JSON schemas for every pinned CRD."""
    from infergate.validate.export import export_schemas

    for line in export_schemas(directory):
        click.echo(line)


if __name__ == "__main__":
    main()

"""`infergate bench`: check every input first (exit 2 on bad input), then sweep, then report.

Exit codes: 0 every request succeeded, 1 some failed (or the model could not be discovered), 2 bad input.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import sys
from pathlib import Path

from infergate.core.errors import InfergateError
from infergate.serving.loadgen import Target, discover_model, run_level
from infergate.serving.plan import Level, build_plan
from infergate.serving.progress import Progress
from infergate.serving.report import BenchRun, read_json, render_compare, render_table, write_json
from infergate.serving.smoke import normalize_base_url, tls_context
from infergate.serving.stats import LevelResult, summarize


def _writable(option: str, path: Path | None) -> None:
    # a sweep can take minutes: find out now, not after it, that its result cannot be saved
    if path is not None and not path.parent.is_dir():
        raise InfergateError(f"{option}: folder {path.parent} does not exist")


async def _sweep(target: Target, plan: list[Level], verify: ssl.SSLContext,
                 progress: Progress) -> list[LevelResult]:
    results = []
    for index, level in enumerate(plan, 1):
        progress.start_level(f"level {index}/{len(plan)}: concurrency {level.concurrency}, "
                             f"{level.requests} requests")
        results.append(summarize(await run_level(target, level, verify, progress.advance)))
    return results


def run_bench(url: str, *, model: str | None, endpoint: str, concurrency: str | None, requests: str | None,
              max_tokens: int, prompt: str, stream: bool, timeout: float, ca_file: str | None,
              json_path: Path | None, png_path: Path | None, compare_path: Path | None) -> tuple[str, int]:
    """(text for stdout, exit code); a failure to discover the model is one line on stderr.

    Raises InfergateError for bad input, before any request is sent."""
    try:
        base = normalize_base_url(url)
        if ca_file is not None and not base.startswith("https://"):
            raise ValueError(f"--ca-file given but {url!r} is not an https:// URL")
        verify = tls_context(ca_file)
    except ValueError as exc:
        raise InfergateError(str(exc)) from None
    plan = build_plan(concurrency, requests)
    _writable("--json", json_path)
    _writable("--png", png_path)
    if png_path is not None:
        from infergate.serving.chart import require_matplotlib

        require_matplotlib()
    previous = read_json(compare_path) if compare_path is not None else None

    # GET /v1/models before the sweep, always: it discovers the model when none is given, and it warms the
    # client (httpx loads its asyncio backend on first use, tens of ms that would land on the first request)
    try:
        listed = asyncio.run(discover_model(base, verify, timeout))
    except ValueError as exc:
        if model is None:
            print(f"error: cannot discover the model: {exc}", file=sys.stderr)
            return "", 1
        listed = model  # the model is known: let the sweep count whatever goes wrong, by class
    model = model or listed
    target = Target(base, model, endpoint, prompt, max_tokens, stream, timeout)
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    progress = Progress(sum(level.requests for level in plan), sys.stderr)
    try:
        levels = asyncio.run(_sweep(target, plan, verify, progress))
    finally:
        progress.close()
    run = BenchRun(base, model, endpoint, stream, max_tokens, started, levels)

    parts = [render_table(run)]
    if previous is not None:
        parts.append(render_compare(previous, run, str(compare_path)))
    if json_path is not None:
        write_json(run, json_path)
        parts.append(f"wrote {json_path}")
    if png_path is not None:
        from infergate.serving.chart import write_png

        write_png(run, png_path)
        parts.append(f"wrote {png_path}")
    return "\n".join(parts), 0 if run.failed == 0 else 1

"""A sweep's results as a text table, as JSON (written and read back), and compared with an earlier run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.core.errors import InfergateError
from infergate.serving.stats import LevelResult

SCHEMA = "infergate.bench/v1"


@dataclass
class BenchRun:
    url: str
    model: str
    endpoint: str
    stream: bool
    max_tokens: int
    started: str  # ISO 8601, UTC
    levels: list[LevelResult] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(level.requests for level in self.levels)

    @property
    def failed(self) -> int:
        return sum(level.failed for level in self.levels)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "url": self.url, "model": self.model, "endpoint": self.endpoint,
                "stream": self.stream, "max_tokens": self.max_tokens, "started": self.started,
                "levels": [level.to_dict() for level in self.levels]}


def write_json(run: BenchRun, path: Path) -> None:
    try:
        path.write_text(json.dumps(run.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InfergateError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_json(path: Path) -> BenchRun:
    """An earlier `--json` file; InfergateError (one line) when it is unreadable or not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InfergateError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InfergateError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InfergateError(f"{path} is not an `infergate bench --json` file (schema {SCHEMA})")
    try:
        fields = {k: data[k] for k in ("url", "model", "endpoint", "stream", "max_tokens", "started")}
        return BenchRun(**fields, levels=[LevelResult.from_dict(level) for level in data["levels"]])
    except (KeyError, TypeError) as exc:
        raise InfergateError(f"{path}: malformed bench result ({type(exc).__name__}: {exc})") from None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _columns(run: BenchRun) -> list[tuple[str, Any]]:
    cols: list[tuple[str, Any]] = [
        ("conc", lambda r: str(r.concurrency)), ("reqs", lambda r: str(r.requests)),
        ("ok", lambda r: str(r.ok)),
        ("errors", lambda r: str(r.failed)), ("req/s", lambda r: _rate(r.req_per_s)),
        ("mean ms", lambda r: _ms(r.latency_s and r.latency_s.mean)),
        ("p50 ms", lambda r: _ms(r.latency_s and r.latency_s.p50)),
        ("p90 ms", lambda r: _ms(r.latency_s and r.latency_s.p90)),
        ("p99 ms", lambda r: _ms(r.latency_s and r.latency_s.p99)),
    ]
    if run.stream:
        cols += [("ttft ms", lambda r: _ms(r.ttft_s and r.ttft_s.mean)),
                 ("ttft p90", lambda r: _ms(r.ttft_s and r.ttft_s.p90)),
                 ("itl ms", lambda r: _ms(r.itl_s and r.itl_s.mean))]
    cols.append(("out tok/s", lambda r: _rate(r.output_tokens_per_s)))
    return cols


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return ["  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
            for line in (header, *rows)]


def render_table(run: BenchRun) -> str:
    cols = _columns(run)
    mode = "streaming" if run.stream else "non-streaming"
    lines = [f"{run.url} /v1/{'chat/completions' if run.endpoint == 'chat' else 'completions'}  "
             f"model {run.model}  {mode}  max_tokens {run.max_tokens}"]
    lines += _grid([name for name, _ in cols], [[get(level) for _, get in cols] for level in run.levels])
    for level in run.levels:
        for kind, count in level.errors.items():
            if count:
                lines.append(f"  c={level.concurrency} n={level.requests}: {kind} x{count}, first: "
                             f"{level.error_examples.get(kind, '')}")
    lines.append(f"{len(run.levels)} levels, {run.requests} requests, {run.failed} failed")
    return "\n".join(lines)


# metric name -> (getter, True when a bigger number is better)
METRICS: dict[str, tuple[Any, bool]] = {
    "req/s": (lambda r: r.req_per_s, True),
    "mean": (lambda r: r.latency_s and r.latency_s.mean, False),
    "p50": (lambda r: r.latency_s and r.latency_s.p50, False),
    "p90": (lambda r: r.latency_s and r.latency_s.p90, False),
    "p99": (lambda r: r.latency_s and r.latency_s.p99, False),
    "ttft": (lambda r: r.ttft_s and r.ttft_s.mean, False),
    "itl": (lambda r: r.itl_s and r.itl_s.mean, False),
    "tok/s": (lambda r: r.output_tokens_per_s, True),
}


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "-"
    if before == 0:
        return "=" if after == 0 else "new"
    return f"{(after - before) / before * 100:+.1f}%"


def render_compare(previous: BenchRun, current: BenchRun, label: str) -> str:
    """Change in % per level and metric; levels are matched on (concurrency, requests)."""
    earlier = {(level.concurrency, level.requests): level for level in previous.levels}
    names = [name for name, (get, _) in METRICS.items()
             if any(get(level) is not None for level in current.levels)]
    rows: list[list[str]] = []
    for level in current.levels:
        before = earlier.get((level.concurrency, level.requests))
        row = [str(level.concurrency), str(level.requests)]
        if before is None:
            rows.append([*row, *("-" for _ in names), "no such level before"])
            continue
        row += [_change(METRICS[name][0](before), METRICS[name][0](level)) for name in names]
        rows.append([*row, f"{before.failed} -> {level.failed}"])
    header = ["conc", "reqs", *names, "errors"]
    lines = [f"change against {label} (req/s and tok/s: + is better; latencies: - is better)"]
    lines += _grid(header, rows)
    return "\n".join(lines)

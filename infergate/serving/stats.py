"""From one level's samples to its numbers: throughput, latency distribution, errors by class."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from infergate.serving.loadgen import ERROR_CLASSES, LevelRun


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on an ascending list."""
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Dist:
    mean: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, values: list[float]) -> Dist | None:
        if not values:
            return None
        ordered = sorted(values)
        return cls(sum(ordered) / len(ordered), percentile(ordered, 50), percentile(ordered, 90),
                   percentile(ordered, 99))


@dataclass
class LevelResult:
    concurrency: int
    requests: int
    ok: int
    wall_s: float
    req_per_s: float  # successful requests per second of wall time: c / latency for a steady server
    latency_s: Dist | None  # of successful requests
    ttft_s: Dist | None = None  # streaming only
    itl_s: Dist | None = None  # streaming only: gaps between content events, all requests pooled
    output_tokens: int | None = None
    output_tokens_per_s: float | None = None
    errors: dict[str, int] = field(default_factory=dict)  # every class of ERROR_CLASSES, zeros included
    error_examples: dict[str, str] = field(default_factory=dict)  # class -> first detail seen

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelResult:
        dists = {key: Dist(**data[key]) if data.get(key) else None
                 for key in ("latency_s", "ttft_s", "itl_s")}
        return cls(**{**data, **dists})


def summarize(run: LevelRun) -> LevelResult:
    good = [s for s in run.samples if s.error is None]
    errors = dict.fromkeys(ERROR_CLASSES, 0)
    examples: dict[str, str] = {}
    for sample in run.samples:
        if sample.error is not None:
            errors[sample.error] += 1
            examples.setdefault(sample.error, sample.detail)
    wall = max(run.wall_s, 1e-9)
    counted = [s.output_tokens for s in good if s.output_tokens is not None]
    # tokens/s only when every successful answer said how many tokens it had: a partial sum would mislead
    tokens = sum(counted) if good and len(counted) == len(good) else None
    ttfts = [s.ttft_s for s in good if s.ttft_s is not None]
    return LevelResult(
        concurrency=run.level.concurrency, requests=run.level.requests, ok=len(good), wall_s=run.wall_s,
        req_per_s=len(good) / wall, latency_s=Dist.of([s.latency_s for s in good]),
        ttft_s=Dist.of(ttfts), itl_s=Dist.of([gap for s in good for gap in s.gaps_s]),
        output_tokens=tokens, output_tokens_per_s=None if tokens is None else tokens / wall,
        errors=errors, error_examples=examples)

"""What a benchmark sweep runs: levels of (concurrency, requests), from the defaults or the command line."""

from __future__ import annotations

from dataclasses import dataclass

from infergate.core.errors import InfergateError


@dataclass(frozen=True)
class Level:
    concurrency: int
    requests: int


# The reference deployment's benchmark (issue 16): 181 requests in five levels.
REFERENCE_SWEEP = (Level(1, 1), Level(1, 10), Level(5, 20), Level(10, 50), Level(20, 100))


def _positive_ints(option: str, text: str) -> list[int]:
    values: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise InfergateError(f"{option}: {item!r} is not a positive integer (expected e.g. 1,5,10)")
        values.append(int(item))
    return values


def build_plan(concurrency: str | None, requests: str | None) -> list[Level]:
    """The reference sweep when neither is given; else one level per concurrency, with --requests either one
    count for every level or one count per level."""
    if concurrency is None and requests is None:
        return list(REFERENCE_SWEEP)
    if concurrency is None or requests is None:
        raise InfergateError("--concurrency and --requests go together (neither: the reference sweep)")
    levels = _positive_ints("--concurrency", concurrency)
    counts = _positive_ints("--requests", requests)
    if len(counts) == 1:
        counts = counts * len(levels)
    if len(counts) != len(levels):
        raise InfergateError(f"--requests: {len(counts)} counts for {len(levels)} concurrency levels "
                             "(give one count, or one per level)")
    return [Level(c, n) for c, n in zip(levels, counts, strict=True)]

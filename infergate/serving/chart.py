"""A PNG of a sweep: throughput and latency against concurrency (matplotlib, Agg backend, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infergate.core.errors import InfergateError
from infergate.serving.report import BenchRun

INSTALL_HINT = "--png needs matplotlib: pip install 'infergate[plot]'"


def require_matplotlib() -> None:
    """Fail before a sweep, not after it, when the optional charting dependency is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InfergateError(INSTALL_HINT) from None


def _pyplot() -> Any:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only: never look for a display
    import matplotlib.pyplot as plt

    return plt


def write_png(run: BenchRun, path: Path) -> None:
    plt = _pyplot()
    levels = run.levels
    x = [level.concurrency for level in levels]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    try:
        left.plot(x, [level.req_per_s for level in levels], marker="o", color="tab:blue")
        seen: dict[int, int] = {}
        for level in levels:  # the reference sweep runs concurrency 1 twice: say which point is which
            below = seen[level.concurrency] = seen.get(level.concurrency, -1) + 1
            left.annotate(f"n={level.requests}", (level.concurrency, level.req_per_s), fontsize=7,
                          textcoords="offset points", xytext=(5, -10 - 9 * below))
        left.set(title="Throughput", xlabel="concurrency", ylabel="successful requests / s")
        series = [("mean", "tab:orange", "-"), ("p50", "tab:green", "--"), ("p90", "tab:red", "-."),
                  ("p99", "tab:purple", ":")]
        for name, color, style in series:
            points = [(level.concurrency, getattr(level.latency_s, name) * 1000)
                      for level in levels if level.latency_s is not None]
            if points:
                right.plot(*zip(*points, strict=True), marker="o", color=color, linestyle=style, label=name)
        ttft = [(level.concurrency, level.ttft_s.mean * 1000) for level in levels if level.ttft_s is not None]
        if ttft:
            right.plot(*zip(*ttft, strict=True), marker="s", color="tab:gray", label="ttft mean")
        right.set(title="Latency", xlabel="concurrency", ylabel="ms")
        right.legend(fontsize=8)
        for axes in (left, right):
            axes.set_xticks(sorted(set(x)))
            axes.grid(True, alpha=0.3)
            axes.set_ylim(bottom=0)
        mode = "streaming" if run.stream else "non-streaming"
        fig.suptitle(f"{run.model} at {run.url} ({mode}, max_tokens {run.max_tokens}, {run.started})",
                     fontsize=9)
        fig.tight_layout()
        try:
            fig.savefig(path, format="png")
        except OSError as exc:
            raise InfergateError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)

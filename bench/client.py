"""How many requests per second `infergate bench`'s client can drive: its own ceiling, so a sweep's numbers
are known to measure the server and not the client.

The OpenAI stub (tests/openai_stub.py) answers with zero latency in its own process on 127.0.0.1; the
client (infergate.serving.loadgen, as `infergate bench` runs it) sends a bounded number of non-streaming
completions at each concurrency. Reported per level: req/s, mean latency, and the client's CPU time per
request, whose inverse is what one client core could drive if the server cost nothing. The stub's CPU is
shown too: when it is near the wall time, the stub (not the client) bounds the req/s column.

    .venv/bin/python bench/client.py [--concurrency 1,10,50] [--requests 500,1000,1500] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infergate.serving.loadgen import Target, discover_model, run_level  # noqa: E402
from infergate.serving.plan import build_plan  # noqa: E402
from infergate.serving.smoke import tls_context  # noqa: E402
from infergate.serving.stats import summarize  # noqa: E402

MAX_REQUESTS = 5000  # loopback only, and bounded: this is a measurement, not a load test


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of another process (Linux /proc), None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--requests", default="500,1000,1500", help="one count, or one per level")
    parser.add_argument("--stream", action="store_true", help="SSE streaming (8 tokens per answer)")
    args = parser.parse_args()
    plan = build_plan(args.concurrency, args.requests)
    if sum(level.requests for level in plan) > MAX_REQUESTS:
        parser.error(f"at most {MAX_REQUESTS} requests in all")

    stub = subprocess.Popen([sys.executable, "-m", "tests.openai_stub", "--max-seconds", "300"], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert stub.stdout is not None
        url = stub.stdout.readline().strip()
        verify = tls_context(None)
        model = asyncio.run(discover_model(url, verify, 10))  # also warms the client, as `bench` does
        target = Target(url, model, max_tokens=8, stream=args.stream, timeout=30)
        print(f"client: infergate.serving.loadgen (httpx), stub: {url}, "
              f"{'streaming' if args.stream else 'non-streaming'}, {os.cpu_count()} cores")
        print(f"{'conc':>5} {'reqs':>6} {'errors':>6} {'req/s':>8} {'mean ms':>8} {'client CPU ms/req':>18} "
              f"{'client ceiling req/s':>21} {'stub CPU ms/req':>16}")
        for level in plan:
            stub_cpu = cpu_seconds(stub.pid)
            cpu = time.process_time()
            result = summarize(asyncio.run(run_level(target, level, verify)))
            cpu = (time.process_time() - cpu) / level.requests
            stub_after = cpu_seconds(stub.pid)
            stub_ms = "-" if stub_cpu is None or stub_after is None else \
                f"{(stub_after - stub_cpu) / level.requests * 1000:.2f}"
            mean = "-" if result.latency_s is None else f"{result.latency_s.mean * 1000:.2f}"
            print(f"{level.concurrency:>5} {level.requests:>6} {result.failed:>6} {result.req_per_s:>8.0f} "
                  f"{mean:>8} {cpu * 1000:>18.3f} {1 / cpu:>21.0f} {stub_ms:>16}")
    finally:
        if stub.stdin:
            stub.stdin.close()  # the stub serves until its stdin closes
        try:
            stub.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stub.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

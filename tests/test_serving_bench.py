"""`infergate bench` against the OpenAI stub: what it measures matches what the stub was set to produce
(within 10 %), errors land in the right class with exact counts, and the outputs (table, JSON, PNG,
--compare) hold what they claim. Timing configurations are chosen where theory is clean: a fixed latency L
at concurrency c gives c / L requests per second."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest

from infergate.core.errors import InfergateError
from infergate.serving.plan import REFERENCE_SWEEP, Level, build_plan
from infergate.serving.progress import Progress
from infergate.serving.report import BenchRun, read_json, render_compare
from infergate.serving.stats import Dist, LevelResult, percentile
from tests.conftest import run_infergate
from tests.openai_stub import OpenAIStub, StubConfig, _fraction_hit, make_tls_files

MODEL = StubConfig().model
TOLERANCE = 0.10


def close(measured: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return abs(measured - expected) <= tolerance * expected


def bench(stub: OpenAIStub, tmp_path: Path, *args: str) -> tuple[dict, str, int]:
    out = tmp_path / "result.json"
    result = run_infergate("bench", stub.url, "--json", str(out), *args, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    data = json.loads(out.read_text()) if out.exists() else {}
    return data, result.stdout, result.returncode


# -- units -------------------------------------------------------------------------------------------------

def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 99) == pytest.approx(9.91)
    assert percentile([3.0], 99) == 3.0
    assert Dist.of([]) is None


def test_plan_default_is_the_reference_sweep() -> None:
    plan = build_plan(None, None)
    assert [(lv.requests, lv.concurrency) for lv in plan] == [(1, 1), (10, 1), (20, 5), (50, 10), (100, 20)]
    assert sum(lv.requests for lv in REFERENCE_SWEEP) == 181
    assert build_plan("1,5", "8") == [Level(1, 8), Level(5, 8)]
    assert build_plan("1,5", "3,9") == [Level(1, 3), Level(5, 9)]


@pytest.mark.parametrize(("concurrency", "requests", "message"), [
    ("1,x", "4", "--concurrency: 'x' is not a positive integer"),
    ("0", "4", "--concurrency: '0' is not a positive integer"),
    ("1", "-3", "--requests: '-3' is not a positive integer"),
    ("1,2,3", "4,5", "--requests: 2 counts for 3 concurrency levels"),
    (None, "4", "--concurrency and --requests go together"),
])
def test_plan_rejects_bad_numbers(concurrency: str | None, requests: str | None, message: str) -> None:
    with pytest.raises(InfergateError, match=message.replace("(", r"\(")):
        build_plan(concurrency, requests)


def test_stub_fraction_is_exact() -> None:
    assert sum(_fraction_hit(n, 0.25) for n in range(1, 41)) == 10
    assert [n for n in range(1, 11) if _fraction_hit(n, 0.5)] == [2, 4, 6, 8, 10]
    assert not any(_fraction_hit(n, 0.0) for n in range(1, 100))


def _level(concurrency: int, requests: int, rate: float, mean: float, failed: int = 0) -> LevelResult:
    return LevelResult(concurrency, requests, requests - failed, requests / rate, rate,
                       Dist(mean, mean, mean * 1.5, mean * 2), errors={"http-5xx": failed})


def test_compare_prints_the_change_in_percent_per_level_and_metric() -> None:
    before = BenchRun("http://x", "m", "completions", False, 16, "t0",
                      [_level(1, 10, 2.0, 0.5), _level(4, 20, 8.0, 0.5)])
    after = BenchRun("http://x", "m", "completions", False, 16, "t1",
                     [_level(1, 10, 3.0, 0.4), _level(8, 20, 8.0, 0.5, failed=2)])
    text = render_compare(before, after, "before.json").splitlines()
    assert text[0].startswith("change against before.json")
    assert text[1].split() == ["conc", "reqs", "req/s", "mean", "p50", "p90", "p99", "errors"]
    assert text[2].split() == ["1", "10", "+50.0%", "-20.0%", "-20.0%", "-20.0%", "-20.0%", "0", "->", "0"]
    assert text[3].split()[:2] == ["8", "20"] and "no such level before" in text[3]


def test_progress_draws_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((io.StringIO(), False), (Tty(), True)):
        bar = Progress(3, stream)
        bar.start_level("concurrency 1")
        for _ in range(3):
            bar.advance()
        bar.close()
        assert ("3/3 concurrency 1" in stream.getvalue()) is drawn


# -- against the stub ---------------------------------------------------------------------------------------

def test_throughput_and_latency_match_a_fixed_latency_server(tmp_path: Path) -> None:
    # L = 0.5 s: the client's and the stub's CPU per request (about 1 ms each, several when the 2 shared
    # cores are busy) stays a few % of it even when c answers arrive at once
    latency = 0.5
    with OpenAIStub(StubConfig(latency=latency)) as stub:
        data, stdout, code = bench(stub, tmp_path, "--model", MODEL, "--concurrency", "1,5",
                                   "--requests", "2,10")
        assert stub.stats.max_in_flight == 5  # the concurrency asked for, and no more
    assert code == 0, stdout
    for level in data["levels"]:
        c = level["concurrency"]
        assert level["ok"] == level["requests"]
        assert close(level["req_per_s"], c / latency), level
        assert close(level["latency_s"]["mean"], latency), level
        assert close(level["latency_s"]["p50"], latency), level
        assert level["output_tokens"] == level["requests"] * StubConfig().output_tokens


def test_streaming_ttft_itl_and_tokens_per_second(tmp_path: Path) -> None:
    ttft, rate, tokens = 0.4, 20.0, 5  # answer complete at ttft + (tokens - 1) / rate = 0.6 s
    total = ttft + (tokens - 1) / rate
    with OpenAIStub(StubConfig(ttft=ttft, token_rate=rate, output_tokens=tokens)) as stub:
        data, stdout, code = bench(stub, tmp_path, "--stream", "--concurrency", "4", "--requests", "8",
                                   "--endpoint", "chat")
        assert stub.stats.requests == {"/v1/models": 1, "/v1/chat/completions": 8}
    assert code == 0, stdout
    [level] = data["levels"]
    assert data["model"] == MODEL  # discovered from /v1/models
    assert close(level["ttft_s"]["mean"], ttft), level["ttft_s"]
    assert close(level["itl_s"]["mean"], 1 / rate), level["itl_s"]
    assert close(level["latency_s"]["mean"], total), level["latency_s"]
    assert close(level["req_per_s"], 4 / total), level
    assert close(level["output_tokens_per_s"], 4 / total * tokens), level
    assert "ttft ms" in stdout and "itl ms" in stdout


def test_reference_sweep_table_json_and_png(tmp_path: Path) -> None:
    png = tmp_path / "sweep.png"
    with OpenAIStub(StubConfig(latency=0.08)) as stub:
        data, stdout, code = bench(stub, tmp_path, "--png", str(png))
        assert stub.stats.completions == 181
    assert code == 0, stdout
    assert [(lv["requests"], lv["concurrency"]) for lv in data["levels"]] == [
        (1, 1), (10, 1), (20, 5), (50, 10), (100, 20)]
    assert sum(lv["ok"] for lv in data["levels"]) == 181
    assert all(sum(lv["errors"].values()) == 0 for lv in data["levels"])
    lines = stdout.splitlines()
    assert lines[1].split()[:5] == ["conc", "reqs", "ok", "errors", "req/s"]
    assert [line.split()[:4] for line in lines[2:7]] == [
        ["1", "1", "1", "0"], ["1", "10", "10", "0"], ["5", "20", "20", "0"], ["10", "50", "50", "0"],
        ["20", "100", "100", "0"]]
    assert "5 levels, 181 requests, 0 failed" in stdout
    # more workers, more throughput: the sweep's whole point (c=10 to 20 is left out: on two busy cores
    # the client's CPU, not the stub, can bound the last level)
    rates = [lv["req_per_s"] for lv in data["levels"]]
    assert rates[3] > rates[2] > 2 * rates[1] and rates[4] > rates[2]
    head = png.read_bytes()
    assert head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) > 10_000
    assert read_json(tmp_path / "result.json").requests == 181


def test_compare_against_an_earlier_run(tmp_path: Path) -> None:
    with OpenAIStub(StubConfig(latency=0.1)) as stub:
        bench(stub, tmp_path, "--model", MODEL, "--concurrency", "2", "--requests", "6")
        earlier = tmp_path / "earlier.json"
        (tmp_path / "result.json").rename(earlier)
        stub.config.latency = 0.2  # twice as slow: about -50 % req/s, +100 % latency
        _, stdout, code = bench(stub, tmp_path, "--model", MODEL, "--concurrency", "2", "--requests", "6",
                                "--compare", str(earlier))
    assert code == 0
    header, row = stdout.split(f"change against {earlier}")[1].splitlines()[1:3]
    cells = dict(zip(header.split(), row.split(), strict=False))
    assert cells["conc"] == "2" and cells["reqs"] == "6"
    assert -58 < float(cells["req/s"].rstrip("%")) < -42, row
    assert 75 < float(cells["mean"].rstrip("%")) < 125, row


def test_errors_are_counted_by_class(tmp_path: Path) -> None:
    with OpenAIStub(StubConfig(fail_fraction=0.25)) as stub:
        data, stdout, code = bench(stub, tmp_path, "--model", MODEL, "--concurrency", "2", "--requests", "8")
    assert code == 1  # a failed request fails the run
    assert data["levels"][0]["errors"] == {"timeout": 0, "connect": 0, "http-4xx": 0, "http-5xx": 2,
                                           "bad-response": 0}
    assert data["levels"][0]["ok"] == 6
    assert "c=2 n=8: http-5xx x2, first: HTTP 500" in stdout
    assert "1 levels, 8 requests, 2 failed" in stdout

    cases = [
        (StubConfig(hang_fraction=0.5, hang_seconds=10), ["--timeout", "0.5"], "timeout", 2),
        (StubConfig(garbage_fraction=0.5), [], "bad-response", 2),
        (StubConfig(), ["--model", "not-served"], "http-4xx", 4),
    ]
    for config, extra, kind, count in cases:
        with OpenAIStub(config) as stub:
            data, stdout, code = bench(stub, tmp_path, "--concurrency", "2", "--requests", "4", *extra)
        assert code == 1, (kind, stdout)
        errors = data["levels"][0]["errors"]
        assert errors[kind] == count and sum(errors.values()) == count, (kind, errors)


def test_connect_errors_when_nothing_listens(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "down.json"
    result = run_infergate("bench", f"http://127.0.0.1:{port}", "--model", "m", "--concurrency", "1",
                           "--requests", "3", "--json", str(out))
    assert result.returncode == 1
    assert json.loads(out.read_text())["levels"][0]["errors"]["connect"] == 3
    # without --model, the model is discovered first: one line, no sweep
    result = run_infergate("bench", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot discover the model: GET /v1/models:")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["ftp://host"], "bad URL 'ftp://host'"),
    (["http://127.0.0.1:1", "--concurrency", "1,two", "--requests", "4"], "'two' is not a positive integer"),
    (["http://127.0.0.1:1", "--requests", "4"], "--concurrency and --requests go together"),
    (["http://127.0.0.1:1", "--compare", "/nonexistent/prev.json"], "cannot read /nonexistent/prev.json"),
    (["http://127.0.0.1:1", "--json", "/nonexistent/out.json"], "--json: folder /nonexistent does not exist"),
    (["http://127.0.0.1:1", "--ca-file", "/etc/hostname"], "is not an https:// URL"),
    (["https://127.0.0.1:1", "--ca-file", "/nonexistent.pem"], "cannot load CA file"),
    (["http://127.0.0.1:1", "--max-tokens", "0"], "'--max-tokens': 0 is not in the range x>=1"),
    (["http://127.0.0.1:1", "--timeout", "-1"], "'--timeout': -1.0 is not in the range x>0"),
    ([], "Missing argument 'URL'"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = run_infergate("bench", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def test_compare_file_that_is_not_a_bench_result_exits_2(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    result = run_infergate("bench", "http://127.0.0.1:1", "--compare", str(other))
    assert result.returncode == 2
    assert "is not an `infergate bench --json` file" in result.stderr


def test_missing_matplotlib_is_one_line_before_any_request(tmp_path: Path) -> None:
    blocker = tmp_path / "blocked" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    with OpenAIStub() as stub:
        result = run_infergate("bench", stub.url, "--png", str(tmp_path / "x.png"),
                               env={"PYTHONPATH": str(blocker.parent)})
        assert stub.stats.requests == {}
    assert result.returncode == 2
    assert result.stderr == "error: --png needs matplotlib: pip install 'infergate[plot]'\n"


def test_tls_is_verified_against_the_ca_file(tmp_path: Path) -> None:
    ca, cert, key = make_tls_files(tmp_path, "good")
    other_ca, _, _ = make_tls_files(tmp_path, "other")
    with OpenAIStub(StubConfig(latency=0.01, certfile=str(cert), keyfile=str(key))) as stub:
        data, stdout, code = bench(stub, tmp_path, "--concurrency", "2", "--requests", "4", "--stream",
                                   "--ca-file", str(ca))  # SSE on /v1/completions, over TLS
        assert code == 0, stdout
        assert data["url"].startswith("https://") and data["levels"][0]["ok"] == 4
        assert data["levels"][0]["output_tokens"] == 4 * StubConfig().output_tokens
        # a CA that did not sign the server's certificate: every request is a connect error, none is sent
        data, stdout, code = bench(stub, tmp_path, "--model", MODEL, "--concurrency", "2", "--requests", "4",
                                   "--ca-file", str(other_ca))
        assert stub.stats.completions == 4
    assert code == 1
    assert data["levels"][0]["errors"]["connect"] == 4
    assert "CERTIFICATE_VERIFY_FAILED" in stdout


def test_help_lists_smoke_and_bench() -> None:
    result = run_infergate("--help")
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert "smoke" in listed and "bench" in listed

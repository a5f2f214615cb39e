"""infergate.serving.smoke against the OpenAI stub: it passes on a healthy server and fails exactly when it
should (server down, 5xx, wrong model name, empty content, untrusted or mismatched certificate, a warm-up
longer than the retry budget), as a library, as `python smoke.py` and as `infergate smoke`."""

from __future__ import annotations

import ast
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infergate.serving import smoke
from infergate.serving.smoke import run_smoke
from tests.conftest import run_infergate
from tests.openai_stub import OpenAIStub, StubConfig, make_tls_files

MODEL = StubConfig().model
FAST = {"retries": 2, "backoff": 0.05, "timeout": 5.0}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = make_tls_files(folder, "good")
    other_ca, other_cert, other_key = make_tls_files(folder, "other")
    _, named_cert, named_key = make_tls_files(folder, "named", hosts=("inference.example",))
    return {"ca": ca, "cert": cert, "key": key, "other_ca": other_ca, "other_cert": other_cert,
            "other_key": other_key, "named_ca": folder / "named.pem", "named_cert": named_cert,
            "named_key": named_key}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthy_server_passes_first_time() -> None:
    with OpenAIStub(StubConfig(latency=0.01)) as stub:
        result = run_smoke(stub.url, MODEL, **FAST)
        assert stub.stats.requests == {"/v1/models": 1, "/v1/chat/completions": 1}
    assert result.ok, result.reason
    assert result.attempts == 1
    assert result.line().startswith(f"ok: {MODEL!r} listed and answered")


def test_base_url_may_end_in_v1() -> None:
    with OpenAIStub() as stub:
        assert run_smoke(stub.url + "/v1/", MODEL, **FAST).ok


def test_server_down_fails_after_the_retries() -> None:
    result = run_smoke(f"http://127.0.0.1:{free_port()}", MODEL, **FAST)
    assert not result.ok
    assert result.attempts == 3
    assert "GET /v1/models" in result.reason and "refused" in result.reason.lower()
    assert "after 3 attempts" in result.reason


def test_5xx_fails_at_once() -> None:
    with OpenAIStub(StubConfig(fail_fraction=1.0)) as stub:
        result = run_smoke(stub.url, MODEL, **FAST)
    assert not result.ok
    assert result.attempts == 1  # a 500 is a broken server, not a warming one
    assert "POST /v1/chat/completions returned HTTP 500" in result.reason


def test_wrong_model_name_fails() -> None:
    with OpenAIStub(StubConfig(listed_model="some-other-model")) as stub:
        result = run_smoke(stub.url, MODEL, **FAST)
        assert "/v1/chat/completions" not in stub.stats.requests
    assert not result.ok
    assert result.reason == f"GET /v1/models does not list {MODEL!r} (served: some-other-model)"


def test_asking_for_a_model_the_server_does_not_serve_fails() -> None:
    with OpenAIStub() as stub:
        result = run_smoke(stub.url, "llama-70b", **FAST)
    assert not result.ok and "does not list 'llama-70b'" in result.reason


def test_empty_content_fails() -> None:
    with OpenAIStub(StubConfig(empty_content=True)) as stub:
        result = run_smoke(stub.url, MODEL, **FAST)
    assert not result.ok
    assert result.reason == "POST /v1/chat/completions: choices[0].message.content is empty"


def test_a_hanging_server_fails_on_the_timeout() -> None:
    with OpenAIStub(StubConfig(hang_fraction=1.0, hang_seconds=5)) as stub:
        result = run_smoke(stub.url, MODEL, retries=2, backoff=0.05, timeout=0.3)
    assert not result.ok
    assert result.attempts == 1
    assert "no answer within the timeout" in result.reason


def test_slow_start_within_the_retry_budget_passes() -> None:
    # attempts at about 0, 0.1, 0.3, 0.7, 1.5 s: the 503s stop at 0.5 s, so the fourth attempt passes
    with OpenAIStub(StubConfig(warmup_seconds=0.5)) as stub:
        result = run_smoke(stub.url, MODEL, retries=4, backoff=0.1, timeout=5)
    assert result.ok, result.reason
    assert result.attempts == 4


def test_slow_start_beyond_the_retry_budget_fails() -> None:
    with OpenAIStub(StubConfig(warmup_seconds=30)) as stub:
        result = run_smoke(stub.url, MODEL, retries=2, backoff=0.1, timeout=5)
    assert not result.ok
    assert result.attempts == 3
    assert result.reason.startswith("GET /v1/models returned HTTP 503")
    assert "still failing after 3 attempts" in result.reason


def test_backoff_doubles_and_is_capped() -> None:
    pauses: list[float] = []
    result = run_smoke(f"http://127.0.0.1:{free_port()}", MODEL, retries=6, backoff=2.0, timeout=1,
                       sleep=pauses.append)
    assert not result.ok
    assert pauses == [2.0, 4.0, 8.0, smoke.MAX_DELAY, smoke.MAX_DELAY, smoke.MAX_DELAY]


def test_tls_with_the_right_ca_passes(tls: dict[str, Path]) -> None:
    with OpenAIStub(StubConfig(certfile=str(tls["cert"]), keyfile=str(tls["key"]))) as stub:
        assert stub.url.startswith("https://")
        result = run_smoke(stub.url, MODEL, ca_file=str(tls["ca"]), **FAST)
    assert result.ok, result.reason


@pytest.mark.parametrize("case", ["other CA", "system store", "wrong host name"])
def test_bad_tls_fails_at_once(tls: dict[str, Path], case: str) -> None:
    cert, key, ca = {"other CA": ("other_cert", "other_key", "ca"),
                     "system store": ("cert", "key", None),
                     "wrong host name": ("named_cert", "named_key", "named_ca")}[case]
    with OpenAIStub(StubConfig(certfile=str(tls[cert]), keyfile=str(tls[key]))) as stub:
        result = run_smoke(stub.url, MODEL, ca_file=str(tls[ca]) if ca else None, **FAST)
        assert stub.stats.requests == {}  # nothing was sent over the unverified connection
    assert not result.ok
    assert result.attempts == 1
    assert result.reason.startswith("GET /v1/models: TLS verification failed:")


def test_server_name_verifies_the_certificate_as_that_name(tls: dict[str, Path]) -> None:
    # the in-cluster Job connects to the gateway's Service (127.0.0.1 here) while the certificate names the
    # gateway (inference.example): --server-name verifies that name, and only that name
    with OpenAIStub(StubConfig(certfile=str(tls["named_cert"]), keyfile=str(tls["named_key"]))) as stub:
        named = run_smoke(stub.url, MODEL, ca_file=str(tls["named_ca"]), server_name="inference.example",
                          **FAST)
        wrong = run_smoke(stub.url, MODEL, ca_file=str(tls["named_ca"]), server_name="other.example", **FAST)
        other_ca = run_smoke(stub.url, MODEL, ca_file=str(tls["ca"]), server_name="inference.example", **FAST)
    assert named.ok, named.reason
    for result in (wrong, other_ca):
        assert not result.ok
        assert result.reason.startswith("GET /v1/models: TLS verification failed:")
    with pytest.raises(ValueError, match="--server-name given but"):
        run_smoke("http://127.0.0.1:1", MODEL, server_name="inference.example")


def test_usage_errors_raise_value_error(tls: dict[str, Path], tmp_path: Path) -> None:
    for url in ("localhost:8000", "ftp://host", "https://", "http://host:99999", "http://h/?q=1"):
        with pytest.raises(ValueError, match="bad URL"):
            run_smoke(url, MODEL)
    with pytest.raises(ValueError, match="not an https:// URL"):
        run_smoke("http://127.0.0.1:1", MODEL, ca_file=str(tls["ca"]))
    with pytest.raises(ValueError, match="cannot load CA file"):
        run_smoke("https://127.0.0.1:1", MODEL, ca_file=str(tmp_path / "missing.pem"))


def test_smoke_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(smoke.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_smoke_py_runs_alone_on_a_bare_python(tmp_path: Path, tls: dict[str, Path]) -> None:
    # a copy outside the package, without site-packages (-S) or the environment (-I): as in the Job's image
    script = tmp_path / "smoke.py"
    shutil.copy(smoke.__file__, script)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-I", "-S", str(script), *args], capture_output=True,
                              text=True, timeout=60, check=False)

    with OpenAIStub(StubConfig(certfile=str(tls["cert"]), keyfile=str(tls["key"]))) as stub:
        passed = run("--url", stub.url, "--model", MODEL, "--ca-file", str(tls["ca"]))
        failed = run("--url", stub.url, "--model", "nope", "--ca-file", str(tls["ca"]), "--retries", "0")
    assert (passed.returncode, passed.stderr) == (0, "")
    assert passed.stdout.startswith("ok: ") and passed.stdout.count("\n") == 1
    assert failed.returncode == 1
    assert failed.stdout == f"fail: GET /v1/models does not list 'nope' (served: {MODEL})\n"
    for args in (["--url", "nope", "--model", "m"], ["--url", "http://h", "--model", "m", "--retries", "-1"],
                 ["--model", "m"]):
        usage = run(*args)
        assert usage.returncode == 2, args
        assert "Traceback" not in usage.stderr
        assert len(usage.stderr.strip().splitlines()[-1]) > 0


def test_infergate_smoke_exit_codes(tls: dict[str, Path]) -> None:
    with OpenAIStub(StubConfig(certfile=str(tls["cert"]), keyfile=str(tls["key"]))) as stub:
        passed = run_infergate("smoke", stub.url, "--model", MODEL, "--ca-file", str(tls["ca"]))
        untrusted = run_infergate("smoke", stub.url, "--model", MODEL, "--ca-file", str(tls["other_ca"]))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("ok: ")
    assert untrusted.returncode == 1
    assert untrusted.stdout.startswith("fail: GET /v1/models: TLS verification failed")
    assert untrusted.stdout.count("\n") == 1
    for args in (["bad-url", "--model", "m"], ["http://127.0.0.1:1", "--model", "m", "--ca-file",
                                               str(tls["ca"])],
                 ["http://127.0.0.1:1", "--model", "m", "--retries", "-2"], ["http://127.0.0.1:1"]):
        usage = run_infergate("smoke", *args)
        assert usage.returncode == 2, (args, usage.stdout, usage.stderr)
        assert usage.stderr.startswith("error: ") and usage.stderr.count("\n") == 1, usage.stderr

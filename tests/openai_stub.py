"""An OpenAI-compatible test server with a timing model and failure injection, on 127.0.0.1 only.

It lives in tests/ (not in the package): it is test equipment, the wheel should not carry it, and the CLI
contract should not grow a command whose only user is this repository. bench/client.py starts it as
`python -m tests.openai_stub` in its own process, as bench/check.py already uses tests.hookrepo.

Timing model (all in seconds, measured from the moment the request body is read):
- streaming: token i (0-based) is sent at ttft + i / token_rate; [DONE] right after the last one;
- non-streaming: the answer is sent at `latency` when set, else at ttft + (output_tokens - 1) / token_rate.
Tokens are scheduled against absolute deadlines, so sleep overshoot does not accumulate.

Failure injection is deterministic (error diffusion over the request count, not random), so a fraction of
0.25 fails exactly every fourth completion request and tests can assert exact counts.

    with OpenAIStub(StubConfig(latency=0.2)) as stub:
        stub.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class StubConfig:
    model: str = "stub-model"
    listed_model: str | None = None  # what /v1/models lists; set it to another name to inject a wrong listing
    latency: float | None = None  # of a non-streaming answer (default: derived from the token model)
    ttft: float = 0.0
    token_rate: float = 0.0  # tokens per second after the first one; 0: all tokens at once
    output_tokens: int = 8
    fail_fraction: float = 0.0  # share of completion requests answered 500
    hang_fraction: float = 0.0  # share of completion requests that get no answer for hang_seconds
    hang_seconds: float = 30.0
    garbage_fraction: float = 0.0  # share of completion requests answered 200 with a body that is not JSON
    warmup_seconds: float = 0.0  # every request is answered 503 during the first warmup_seconds
    empty_content: bool = False  # answer with an empty message/text
    certfile: str | None = None  # with keyfile: serve HTTPS
    keyfile: str | None = None


@dataclass
class StubStats:
    requests: dict[str, int] = field(default_factory=dict)  # path -> count
    completions: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


def _connection(keep_alive: bool) -> str:
    return "keep-alive" if keep_alive else "close"


def _fraction_hit(n: int, fraction: float) -> bool:
    """True for request n (1-based) exactly when the running share of hits must grow to stay at fraction."""
    return fraction > 0 and math.floor(n * fraction + 1e-9) > math.floor((n - 1) * fraction + 1e-9)


class OpenAIStub:
    """Runs the server on its own event loop in a daemon thread; use as a context manager."""

    def __init__(self, config: StubConfig | None = None, port: int = 0) -> None:
        self.config = config or StubConfig()
        self.stats = StubStats()
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-stub", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.config.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> OpenAIStub:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        tls = None
        if self.config.certfile:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(self.config.certfile, self.config.keyfile)
        # loopback only, whatever the caller asks: this server must never be reachable from elsewhere
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self._port, ssl=tls,
                                                  backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._started = time.monotonic()

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass  # the client went away (or failed the TLS handshake): nothing to answer
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection must close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        pairs = (line.partition(":") for line in lines[1:] if line)
        headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        keep_alive = headers.get("connection", "").lower() != "close"
        self.stats.requests[path] = self.stats.requests.get(path, 0) + 1
        arrived = time.monotonic()
        config = self.config

        if arrived - self._started < config.warmup_seconds:
            await self._send_json(writer, 503, {"error": {"message": "model is loading"}}, keep_alive)
            return keep_alive
        if path == "/v1/models" and method == "GET":
            listed = config.listed_model or config.model
            await self._send_json(writer, 200, {"object": "list", "data": [
                {"id": listed, "object": "model", "owned_by": "stub"}]}, keep_alive)
            return keep_alive
        if path not in ("/v1/chat/completions", "/v1/completions"):
            await self._send_json(writer, 404, {"error": {"message": f"no route {path}"}}, keep_alive)
            return keep_alive
        if method != "POST":
            await self._send_json(writer, 405, {"error": {"message": "use POST"}}, keep_alive)
            return keep_alive
        try:
            request = json.loads(body)
        except ValueError:
            await self._send_json(writer, 400, {"error": {"message": "body is not JSON"}}, keep_alive)
            return keep_alive
        if request.get("model") != config.model:
            await self._send_json(writer, 404, {"error": {"message": f"The model `{request.get('model')}` "
                                                                     "does not exist."}}, keep_alive)
            return keep_alive

        self.stats.completions += 1
        n = self.stats.completions
        self.stats.in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            if _fraction_hit(n, config.hang_fraction):
                await asyncio.sleep(config.hang_seconds)
                return False
            if _fraction_hit(n, config.fail_fraction):
                await self._sleep_until(arrived + (config.latency or config.ttft))
                await self._send_json(writer, 500, {"error": {"message": "injected failure"}}, keep_alive)
                return keep_alive
            if _fraction_hit(n, config.garbage_fraction):
                await self._sleep_until(arrived + (config.latency or config.ttft))
                await self._send(writer, 200, b"<html>not json</html>", "text/html", keep_alive)
                return keep_alive
            chat = path == "/v1/chat/completions"
            if request.get("stream"):
                await self._stream(writer, chat, arrived, keep_alive)
            else:
                await self._complete(writer, chat, arrived, keep_alive)
            return keep_alive
        finally:
            self.stats.in_flight -= 1

    def _tokens(self) -> list[str]:
        if self.config.empty_content:
            return [""] * self.config.output_tokens
        return [(" " if i else "") + WORDS[i % len(WORDS)] for i in range(self.config.output_tokens)]

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _token_offset(self, i: int) -> float:
        rate = self.config.token_rate
        return self.config.ttft + (i / rate if rate > 0 else 0.0)

    async def _complete(self, writer: asyncio.StreamWriter, chat: bool, arrived: float,
                        keep_alive: bool) -> None:
        config = self.config
        total = config.latency if config.latency is not None else self._token_offset(config.output_tokens - 1)
        await self._sleep_until(arrived + total)
        text = "".join(self._tokens())
        choice: dict[str, object] = {"index": 0, "finish_reason": "length"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        await self._send_json(writer, 200, {
            "id": f"cmpl-{self.stats.completions}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()), "model": config.model, "choices": [choice],
            "usage": {"prompt_tokens": 5, "completion_tokens": config.output_tokens,
                      "total_tokens": 5 + config.output_tokens}}, keep_alive)

    async def _stream(self, writer: asyncio.StreamWriter, chat: bool, arrived: float,
                      keep_alive: bool) -> None:
        head = ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                f"Transfer-Encoding: chunked\r\nConnection: {_connection(keep_alive)}\r\n\r\n")
        writer.write(head.encode())
        for i, token in enumerate(self._tokens()):
            await self._sleep_until(arrived + self._token_offset(i))
            delta: dict[str, object] = {"delta": {"content": token}} if chat else {"text": token}
            event = {"id": "cmpl-stream", "object": "chat.completion.chunk" if chat else "text_completion",
                     "model": self.config.model, "choices": [{"index": 0, **delta, "finish_reason": None}]}
            self._chunk(writer, f"data: {json.dumps(event)}\n\n".encode())
            await writer.drain()
        self._chunk(writer, b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    @staticmethod
    def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: object,
                         keep_alive: bool) -> None:
        await self._send(writer, status, json.dumps(payload).encode(), "application/json", keep_alive)

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str,
                    keep_alive: bool) -> None:
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: {_connection(keep_alive)}\r\n\r\n")
        writer.write(head.encode() + body)
        await writer.drain()


def make_tls_files(folder: Path, name: str = "ca", hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
                   ) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signs for `hosts`: (ca.pem, server.pem, server.key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    hour, day = datetime.timedelta(hours=1), datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"infergate test {name}")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - hour).not_valid_after(now + day)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - hour).not_valid_after(now + day)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (folder / f"{name}.pem", folder / f"{name}-server.pem",
                                    folder / f"{name}-server.key")
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.openai_stub [--latency S] ...`: print the URL on stdout, serve until stdin closes."""
    parser = argparse.ArgumentParser(prog="python -m tests.openai_stub")
    defaults = StubConfig()
    for name in ("latency", "ttft", "token_rate", "fail_fraction", "hang_fraction", "warmup_seconds"):
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    parser.add_argument("--output-tokens", type=int, default=defaults.output_tokens)
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--max-seconds", type=float, default=600, help="stop by itself after this long")
    args = parser.parse_args(argv)
    config = StubConfig(model=args.model, latency=args.latency, ttft=args.ttft, token_rate=args.token_rate,
                        output_tokens=args.output_tokens, fail_fraction=args.fail_fraction,
                        hang_fraction=args.hang_fraction, warmup_seconds=args.warmup_seconds)
    with OpenAIStub(config) as stub:
        print(stub.url, flush=True)
        # serve until the parent closes our stdin (or the time bound passes): never outlive the benchmark
        waiter = threading.Thread(target=sys.stdin.read, daemon=True)
        waiter.start()
        waiter.join(timeout=args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

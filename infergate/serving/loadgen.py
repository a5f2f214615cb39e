"""The load generator: `concurrency` asyncio workers, each with its own httpx client of one connection,
share a level's `requests` requests.

Each request is timed from just before it is sent to the end of its body (non-streaming) or its last SSE
event (streaming); a streaming request also records its time to first token and the gaps between content
events. Failures are classified, never raised: a sweep always finishes.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from infergate.serving.plan import Level

ERROR_CLASSES = ("timeout", "connect", "http-4xx", "http-5xx", "bad-response")


@dataclass(frozen=True)
class Target:
    base_url: str  # normalized: no trailing slash, no /v1
    model: str
    endpoint: str = "completions"  # or "chat"
    prompt: str = "Explain what a Kubernetes Deployment is."
    max_tokens: int = 128
    stream: bool = False
    timeout: float = 60.0  # seconds for one whole request

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1/{'chat/completions' if self.endpoint == 'chat' else 'completions'}"

    def payload(self) -> dict[str, object]:
        body: dict[str, object] = {"model": self.model, "max_tokens": self.max_tokens, "temperature": 0}
        if self.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": self.prompt}]
        else:
            body["prompt"] = self.prompt
        if self.stream:
            # the final usage event gives the real token count when one SSE event carries several tokens
            body.update(stream=True, stream_options={"include_usage": True})
        return body


@dataclass
class Sample:
    latency_s: float
    error: str | None = None  # one of ERROR_CLASSES
    detail: str = ""  # one line: why it failed
    ttft_s: float | None = None
    gaps_s: list[float] = field(default_factory=list)  # between content events (streaming)
    output_tokens: int | None = None


@dataclass
class LevelRun:
    level: Level
    samples: list[Sample]
    wall_s: float


class _Bad(Exception):
    """The server answered 2xx with something that is not a completion."""


def _one_line(text: object, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def classify(exc: BaseException) -> tuple[str, str]:
    """(error class, one-line detail) of a failed request."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return "connect", _one_line(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout", "no complete answer within the timeout"
    if isinstance(exc, _Bad):
        return "bad-response", str(exc)
    return "bad-response", f"{type(exc).__name__}: {_one_line(exc)}"


def _status_error(response: httpx.Response, body: bytes) -> Sample:
    text = _one_line(body.decode("utf-8", "replace"), 100)
    kind = "http-4xx" if response.status_code < 500 else "http-5xx"
    return Sample(0.0, kind, f"HTTP {response.status_code}" + (f": {text}" if text else ""))


def _content(choice: object, chat: bool, stream: bool) -> object:
    if not isinstance(choice, dict):
        raise _Bad("choices[0] is not an object")
    if not chat:
        return choice.get("text")
    message = choice.get("delta" if stream else "message")
    return message.get("content") if isinstance(message, dict) else None


def _usage_tokens(event: dict[str, object]) -> int | None:
    usage = event.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else None


async def _plain(client: httpx.AsyncClient, target: Target) -> Sample:
    response = await client.post(target.url, json=target.payload())
    if response.status_code >= 400:
        return _status_error(response, response.content)
    try:
        answer = response.json()
    except ValueError:
        raise _Bad(f"HTTP {response.status_code} body is not JSON: {_one_line(response.text, 60)}") from None
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices:
        raise _Bad("no choices in the answer")
    _content(choices[0], target.endpoint == "chat", stream=False)
    return Sample(0.0, output_tokens=_usage_tokens(answer))


async def _streamed(client: httpx.AsyncClient, target: Target, start: float) -> Sample:
    sample = Sample(0.0)
    chat = target.endpoint == "chat"
    async with client.stream("POST", target.url, json=target.payload()) as response:
        if response.status_code >= 400:
            return _status_error(response, await response.aread())
        events = usage = 0
        last = start
        done = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, comments, event: lines
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                raise _Bad(f"SSE event is not JSON: {_one_line(data, 60)}") from None
            if not isinstance(event, dict):
                raise _Bad("SSE event is not an object")
            usage = _usage_tokens(event) or usage
            choices = event.get("choices")
            if not choices:
                continue  # the usage-only event, or a keep-alive
            if _content(choices[0], chat, stream=True):
                now = time.perf_counter()
                if sample.ttft_s is None:
                    sample.ttft_s = now - start
                else:
                    sample.gaps_s.append(now - last)
                last = now
                events += 1
    if not done:
        raise _Bad("stream ended without data: [DONE]")
    if sample.ttft_s is None:
        raise _Bad("stream carried no content")
    sample.output_tokens = usage or events
    return sample


async def one_request(client: httpx.AsyncClient, target: Target) -> Sample:
    start = time.perf_counter()
    try:
        # --timeout bounds the whole request; httpx's own timeouts only bound each read or connect
        async with asyncio.timeout(target.timeout):
            sample = await (_streamed(client, target, start) if target.stream else _plain(client, target))
    except (httpx.HTTPError, TimeoutError, _Bad, ValueError, OSError) as exc:
        sample = Sample(0.0, *classify(exc))
    sample.latency_s = time.perf_counter() - start
    return sample


def make_client(verify: ssl.SSLContext, timeout: float) -> httpx.AsyncClient:
    """A client of one keep-alive connection: each worker has its own."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout), verify=verify)


async def run_level(target: Target, level: Level, verify: ssl.SSLContext,
                    on_done: Callable[[], None] | None = None) -> LevelRun:
    """`level.requests` requests, at most `level.concurrency` in flight, on fresh connections."""
    samples: list[Sample] = []
    tickets = iter(range(level.requests))  # shared by the workers: next() never awaits, so no lock

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in tickets:
            samples.append(await one_request(client, target))
            if on_done:
                on_done()

    # one client (of one connection) per worker, not one pool shared by all: httpcore's shared pool spends
    # CPU on every request in proportion to its connections, which made the client itself the bottleneck
    # at concurrency 50 (bench/client.py)
    workers = min(level.concurrency, level.requests)
    clients = [make_client(verify, target.timeout) for _ in range(workers)]
    try:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        wall = time.perf_counter() - start
    finally:
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)
    return LevelRun(level, samples, wall)


async def discover_model(base_url: str, verify: ssl.SSLContext, timeout: float) -> str:
    """The first model /v1/models lists; ValueError with one line when there is none or no answer."""
    try:
        async with httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout)) as client:
            response = await client.get(f"{base_url}/v1/models")
    except httpx.HTTPError as exc:
        raise ValueError(f"GET /v1/models: {classify(exc)[1]}") from None
    if response.status_code != 200:
        raise ValueError(f"GET /v1/models returned HTTP {response.status_code}")
    try:
        data = response.json()["data"]
        return str(data[0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise ValueError("GET /v1/models lists no model (give --model)") from None

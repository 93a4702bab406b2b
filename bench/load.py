"""HTTP load for the benchmarks: wrk for throughput, a paced client for latency at a given rate.

Requests are complete HTTP/1.1 messages built beforehand (`http_request`), so
neither tool spends time building them while the clock runs.

- `wrk(port, "once", requests, ...)` sends every request exactly once, as fast
  as the server answers, over one connection per wrk thread (see load.lua);
  `wrk(port, "repeat", [request], seconds=...)` sends one over and over.
  wrk is C: on a small machine its own CPU use takes the least from the server.
- `paced(port, requests, rate)` sends request i at start + i/rate seconds, open
  loop, from Python threads: cheap enough at a few hundred requests a second.

Each returns a `Load`: latencies, statuses, and the time from the first request
to the last answer.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.common import die_with_parent

LUA_SCRIPT = Path(__file__).with_suffix(".lua")
USER_AGENT = "timebank-bench/1 (a volunteer's phone)"
PACED_CLIENTS = 64  # at most this many paced requests in flight; more wait, and their wait counts
WRK_LIMIT_SECONDS = 600  # a "once" run that has not ended by then is cut short (its missing answers show)


def http_request(
    port: int, method: str, path: str, *, cookie: str | None = None, body: dict | None = None, close: bool = False
) -> bytes:
    """A complete HTTP/1.1 request, as a phone's browser would send it through the proxy."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}", "Accept: application/json"]
    payload = b""
    if close:
        lines.append("Connection: close")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def exchange(port: int, request: bytes) -> bytes:
    """Send one request on a new connection; the whole answer, read until the server closes."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@dataclass(frozen=True)
class Load:
    """What a load run saw: latencies, statuses, and how long from the first request to the last answer."""

    latencies_ms: list[float]
    statuses: Counter
    socket_errors: int
    seconds: float

    @property
    def answered(self) -> int:
        """Requests answered with any status."""
        return sum(self.statuses.values())

    @property
    def per_s(self) -> float:
        """Answers per second."""
        return self.answered / self.seconds if self.seconds else 0.0

    def __add__(self, other: Load) -> Load:
        """Two runs as one: their answers over their time together."""
        return Load(
            self.latencies_ms + other.latencies_ms, self.statuses + other.statuses,
            self.socket_errors + other.socket_errors, self.seconds + other.seconds,
        )

    def failures(self) -> int:
        """Answers other than success (2xx: the API answers a check-in 201), and requests lost to socket errors."""
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300) + self.socket_errors


def lua_requests(requests: Sequence[bytes], path: Path) -> Path:
    """A Lua chunk returning the requests, for the wrk script to load."""

    def quoted(request: bytes) -> str:
        text = request.decode()
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n") + '"'

    path.write_text("return {\n" + ",\n".join(quoted(r) for r in requests) + "\n}\n")
    return path


def wrk(port: int, mode: str, requests: Sequence[bytes], *, connections: int, directory: Path, seconds: int = 0) -> Load:
    """Run wrk with bench/load.lua: "once" sends each request once, "repeat" the first for `seconds`."""
    requests_file = lua_requests(requests, directory / "wrk_requests.lua")
    duration = seconds if mode == "repeat" else WRK_LIMIT_SECONDS
    # Where a finished thread's next connection waits, unserved (see the script).
    parking = socket.create_server(("127.0.0.1", 0), backlog=connections)
    args = [
        "wrk", "-t", str(connections), "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s",
        "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{port}", "--", mode, str(requests_file), str(connections),
        str(parking.getsockname()[1]),
    ]
    errors = directory / "wrk_errors.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, preexec_fn=die_with_parent)
    output: list[str] = []
    try:
        lines = _reader(process)
        if mode == "once":
            _interrupt_when_done(process, lines, connections, output)
        process.wait(duration + 60)
        while (line := lines.get(timeout=10)) is not None:
            output.append(line)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        parking.close()
    result = next((line for line in output if line.startswith("RESULT ")), None)
    if result is None:
        raise RuntimeError(f"wrk gave no result: {''.join(output)[-2000:]} {errors.read_text()[-2000:]}")
    figures = json.loads(result[len("RESULT "):])
    return Load(
        latencies_ms=[us / 1000 for us in figures["latencies_us"]],
        statuses=Counter({int(status): count for status, count in figures["statuses"].items()}),
        socket_errors=figures["socket_errors"] + figures["timeouts"],
        seconds=(figures["last_us"] - figures["first_us"]) / 1e6,
    )


def _reader(process: subprocess.Popen) -> queue.Queue:
    """wrk's output lines as they come, then None."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _interrupt_when_done(process: subprocess.Popen, lines: queue.Queue, threads: int, output: list[str]) -> None:
    """Interrupt wrk (it then prints its result) once every thread has had all its answers.

    Other lines go to `output`; if wrk ends by itself, its end-of-output None goes back on the queue.
    """
    finished, deadline = 0, time.monotonic() + WRK_LIMIT_SECONDS
    while finished < threads and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            lines.put(None)
            return
        if line.strip() == "thread-done":
            finished += 1
        else:
            output.append(line)
    process.send_signal(signal.SIGINT)


def paced(port: int, requests: Sequence[bytes], rate: float) -> Load:
    """Send request i at start + i/rate seconds on a new connection, whatever came back before.

    Latency counts from the due time, so a request kept waiting for a free
    client thread is charged its wait (no coordinated omission). A connection
    opens only when its request is due, as a buffering proxy in front of
    gunicorn's sync workers would open it.
    """
    start = time.monotonic() + 0.2
    latencies: list[float] = [0.0] * len(requests)
    statuses: list[int | None] = [None] * len(requests)

    def send(i: int, due: float) -> None:
        try:
            statuses[i] = int(exchange(port, requests[i]).split(b" ", 2)[1])
        except (OSError, IndexError, ValueError):
            statuses[i] = None
        latencies[i] = (time.monotonic() - due) * 1000

    with ThreadPoolExecutor(max_workers=PACED_CLIENTS) as pool:
        for i in range(len(requests)):
            due = start + i / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            pool.submit(send, i, due)
    answered = [s for s in statuses if s is not None]
    return Load(latencies, Counter(answered), len(requests) - len(answered), time.monotonic() - start)

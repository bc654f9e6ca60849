"""Client overhead: three ratios measured in one run, each printed against its target (issue 2).

Run: python bench/client.py      (about 30 s; exits 1 when a target is missed)

1. get: ``core_api.deployment_requests_get`` through CoreApi vs a raw urllib3 GET of the same URL plus
   ``json.loads``, per call, against a keep-alive loopback server in its own process (no GIL contention).
   The two alternate call by call; the figure is the ratio of the median call times.
2. threads: 16 threads sharing one ApiClient (``connection_pool_maxsize=16``) vs 16 threads sharing one raw urllib3
   PoolManager (``maxsize=16``), each thread making the same calls as in 1 against the same server; the figure is
   the median over rounds of the ratio of the total calls per second, each round running both, one after the
   other, in alternating order.
3. decode: a 250-record ``collect`` answer into DeploymentRequestDetail models, through the decoder the client
   uses, vs ``json.loads`` of the same bytes; the figure is the ratio of the best of many timeit repetitions,
   timed in CPU time of the thread.
4. import: ``python -c "import ubiops"`` vs ``python -c "import urllib3, dateutil.parser, certifi"``, alternating
   fresh interpreters; the figure is the ratio of the median CPU times (user + sys) of the interpreters; wall
   times are printed too. Bytecode is cached (in a temporary ``pycache_prefix``, even when PYTHONDONTWRITEBYTECODE
   is set) as it is for an installed package; otherwise the figure would measure compiling our sources, which the
   baseline's installed packages never do.

CPU times (3 and 4) keep the figures steady on a shared machine, where wall time also counts waiting for a CPU.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure this checkout, whatever is installed

import urllib3  # noqa: E402
from _common import check  # noqa: E402

import ubiops  # noqa: E402
from ubiops.api.endpoints import BY_NAME  # noqa: E402

PROJECT, DEPLOYMENT, REQUEST_ID = "bench-project", "bench-deployment", "2f909aeb-5c7e-4974-970d-cd0a6a073aca"
TOKEN = "Token bench"
WARM_UP = 200  # calls of each kind left out of the get figure


def _record(i: int) -> Dict[str, Any]:
    """A completed request as ``collect`` returns it (the reference example, with all three times set)."""
    created = datetime(2020, 3, 29, 8, 9, 10, 729000, tzinfo=timezone.utc) + timedelta(seconds=i)
    return {
        "id": f"{i:08x}-5c7e-4974-970d-cd0a6a073aca",
        "deployment": "deployment-1",
        "version": "v1",
        "status": "completed",
        "success": True,
        "time_created": created.isoformat(timespec="milliseconds"),
        "time_started": (created + timedelta(milliseconds=412)).isoformat(timespec="milliseconds"),
        "time_completed": (created + timedelta(milliseconds=1704)).isoformat(timespec="milliseconds"),
        "timeout": 300,
        "request_data": {"input": 82.2 + i},
        "result": {"output": 164.4 + i},
        "error_message": None,
        "input_size": 14,
        "output_size": 15,
    }


SINGLE_DETAIL = json.dumps({**_record(0), "id": REQUEST_ID, "origin": {"created_by": "bench@example.com"}}).encode()


class _Handler(BaseHTTPRequestHandler):
    """Answers every GET with the canned request, headers and body in one sendall."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(SINGLE_DETAIL)}\r\n\r\n".encode()
        + SINGLE_DETAIL
    )

    def do_GET(self) -> None:
        self.wfile.write(self.response)  # wfile is unbuffered: one write is one sendall

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> None:
    """Server mode (``--serve``): print the port, serve until stdin closes (so it never outlives the benchmark)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()


@contextmanager
def _getters(maxsize: int) -> Iterator[Tuple[Callable[[], Any], Callable[[], Any]]]:
    """A server in its own process, and two ways to get the canned request from it: through CoreApi (one ApiClient)
    and through a raw urllib3 PoolManager plus ``json.loads``, each keeping up to ``maxsize`` connections."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        host = f"http://127.0.0.1:{int(server.stdout.readline())}"
        configuration = ubiops.Configuration(
            host=host, api_key={"Authorization": TOKEN}, connection_pool_maxsize=maxsize
        )
        with ubiops.ApiClient(configuration) as api_client:
            core_api = ubiops.CoreApi(api_client)
            pool = urllib3.PoolManager(maxsize=maxsize)
            url = f"{host}/projects/{PROJECT}/deployments/{DEPLOYMENT}/requests/{REQUEST_ID}"
            headers = {"Accept": "application/json", "Authorization": TOKEN}

            def client() -> Any:
                return core_api.deployment_requests_get(PROJECT, DEPLOYMENT, REQUEST_ID)

            def raw() -> Any:
                return json.loads(pool.request("GET", url, headers=headers).data)

            answer = client()
            assert isinstance(answer, ubiops.DeploymentRequestSingleDetail), answer
            assert isinstance(answer.time_completed, datetime), answer
            assert raw()["id"] == answer.id == REQUEST_ID
            yield client, raw
            pool.clear()
    finally:
        server.communicate(timeout=10)  # closes its stdin: the server exits


def bench_get(pairs: int = 3000) -> bool:
    with _getters(maxsize=1) as (client, raw):
        times: Dict[Callable[[], Any], List[float]] = {client: [], raw: []}
        clock = time.perf_counter
        for i in range(WARM_UP + pairs):  # call by call, alternating which goes first: both see the same machine
            for fn in (client, raw) if i % 2 else (raw, client):
                started = clock()
                fn()
                times[fn].append(clock() - started)
    client_time, raw_time = (statistics.median(times[fn][WARM_UP:]) for fn in (client, raw))
    ok = check("get vs raw urllib3", client_time / raw_time, "<=", 1.1)
    print(
        f"  per call: CoreApi {client_time * 1e6:.0f} us, raw urllib3 + json.loads {raw_time * 1e6:.0f} us "
        f"(medians of {pairs} alternating calls each)"
    )
    return ok


def _calls_per_second(fn: Callable[[], Any], threads: int, calls: int) -> float:
    """``threads`` threads, started together, each making ``calls`` calls of ``fn``: the total calls per second."""
    start = threading.Barrier(threads + 1)
    errors: List[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(calls):
                fn()
        except BaseException as err:  # reported below, in the main thread
            errors.append(err)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return threads * calls / elapsed


def bench_threads(threads: int = 16, calls: int = 100, rounds: int = 10) -> bool:
    with _getters(maxsize=threads) as (client, raw):
        rates: Dict[Callable[[], Any], List[float]] = {client: [], raw: []}
        for fn in (client, raw):  # warm up: every thread's connection made
            _calls_per_second(fn, threads, 10)
        for i in range(rounds):  # alternating which goes first: both see the same machine
            for fn in (client, raw) if i % 2 else (raw, client):
                rates[fn].append(_calls_per_second(fn, threads, calls))
    # Each round's two runs follow each other, so their ratio is free of the machine's drift between rounds.
    ratio = statistics.median(c / r for c, r in zip(rates[client], rates[raw]))
    ok = check(f"{threads} threads, one ApiClient vs raw urllib3", ratio, ">=", 0.9)
    print(
        f"  calls/s: CoreApi {statistics.median(rates[client]):.0f}, raw urllib3 + json.loads "
        f"{statistics.median(rates[raw]):.0f} (medians of {rounds} rounds of {threads} x {calls} calls each, the "
        f"figure the median of the rounds' ratios; pool maxsize {threads} each)"
    )
    return ok


def bench_decode(repeat: int = 25, number: int = 10) -> bool:
    body = json.dumps([_record(i) for i in range(250)]).encode()
    decode = BY_NAME["deployment_requests_batch_get"].returns.decode
    models = decode(body, "application/json")
    assert len(models) == 250 and isinstance(models[-1], ubiops.DeploymentRequestDetail), models[:1]
    assert isinstance(models[-1].time_completed, datetime), models[-1]
    timers = {  # CPU time of this thread: on a shared machine, wall time also counts waiting for a CPU
        "models": timeit.Timer(lambda: decode(body, "application/json"), timer=time.thread_time),
        "json": timeit.Timer(lambda: json.loads(body), timer=time.thread_time),
    }
    times: Dict[str, List[float]] = {"models": [], "json": []}
    for _ in range(repeat):  # interleaved, so a slow spell of the machine hits both
        for name, timer in timers.items():
            times[name].append(timer.timeit(number) / number)
    best = {name: min(values) for name, values in times.items()}
    ok = check("decode 250 collect records vs json.loads", best["models"] / best["json"], "<=", 5)
    print(
        f"  per answer: models {best['models'] * 1e3:.2f} ms, json.loads {best['json'] * 1e3:.2f} ms "
        f"(CPU time, best of {repeat} x {number}; {len(body)} bytes)"
    )
    return ok


def _run_python(code: str, cache: str, env: Dict[str, str]) -> Tuple[float, float]:
    """One fresh interpreter running ``code``: its CPU time (user + sys) and its wall time, in seconds."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-X", f"pycache_prefix={cache}", "-c", code], cwd=REPO, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"python -c {code!r} exited with {child.returncode}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started


def bench_import(runs: int = 25) -> bool:
    codes = {"ubiops": "import ubiops", "deps": "import urllib3, dateutil.parser, certifi"}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: Dict[str, List[Tuple[float, float]]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory() as cache:
        for code in codes.values():  # fill the bytecode cache
            _run_python(code, cache, env)
        for i in range(runs):
            for name in sorted(codes, reverse=bool(i % 2)):
                samples[name].append(_run_python(codes[name], cache, env))
    # CPU time is the figure: on a busy machine wall time also counts waiting for a CPU
    cpu, wall = ({name: statistics.median(s[k] for s in v) * 1e3 for name, v in samples.items()} for k in (0, 1))
    ok = check("import ubiops vs urllib3 + dateutil.parser + certifi", cpu["ubiops"] / cpu["deps"], "<=", 1.2)
    print(
        f"  python -c: import ubiops {cpu['ubiops']:.1f} ms, import urllib3, dateutil.parser, certifi "
        f"{cpu['deps']:.1f} ms (CPU time, medians of {runs} alternating runs, bytecode cached)\n"
        f"  wall time: {wall['ubiops']:.1f} ms vs {wall['deps']:.1f} ms ({wall['ubiops'] / wall['deps']:.2f}x)"
    )
    return ok


def main() -> int:
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(
        f"Python {platform.python_version()} ({sys.executable}), urllib3 {urllib3.__version__}, "
        f"ubiops {ubiops.__version__}; {cpus} CPUs, load {load:.2f}",
        flush=True,
    )
    if load > cpus:
        print("note: the machine is busy; the get figure is wall time and may read high, rerun when it is quiet")
    results = [bench_get(), bench_threads(), bench_decode(), bench_import()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.exit(main())

"""A closed-loop HTTP load generator: ``concurrency`` keep-alive connections (``http.client``), each
sending its next request as soon as it has read the previous answer, for a fixed time.

The connections are spread over one process per core, threads within each (the threads of one
Python process share one interpreter lock, which would cap the rate of a single client process
below what a cheap route can serve). The first ``warmup`` seconds are not recorded. A connection the
server closes (a keep-alive timeout, a worker recycled after ``max_requests``) is reopened and its
request sent again, as a browser does; the latency then counts both tries. Any status other than
200 is an error.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import resource
import threading
import time
from array import array
from dataclasses import dataclass
from urllib.parse import urlsplit

HEADERS = {
    "Accept": "text/html,application/xhtml+xml",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    "User-Agent": "marketplace-bench",
}


@dataclass
class Result:
    path: str
    requests: int
    errors: int
    reconnects: int
    seconds: float
    client_cpu: float  # CPU seconds the client used per second measured (of all cores together)

    latencies: list[float]  # ms, sorted

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(round(p * (len(self.latencies) - 1))))]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def run(base: str, path: str, seconds: float, concurrency: int = 8, warmup: float = 1.0) -> Result:
    """Load ``base + path`` with ``concurrency`` connections for ``warmup + seconds``."""
    processes = max(1, min(concurrency, len(os.sched_getaffinity(0))))
    threads = [concurrency // processes + (1 if k < concurrency % processes else 0) for k in range(processes)]
    record_from = time.time() + 0.3 + warmup  # every process started and connected by then
    end = record_from + seconds
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for n in threads:
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client, args=(send, base, path, n, record_from, end), daemon=True)
        proc.start()
        pipes.append(receive)
        procs.append(proc)
    latencies: list[float] = []
    errors = reconnects = 0
    cpu = 0.0
    for receive, proc in zip(pipes, procs, strict=True):
        if not receive.poll(seconds + warmup + 120):
            proc.kill()
            raise RuntimeError(f"load client for {path} did not report")
        part = receive.recv()
        proc.join(10)
        latencies.extend(part["latencies"])
        errors += part["errors"]
        reconnects += part["reconnects"]
        cpu += part["cpu"]
    latencies.sort()
    return Result(path, len(latencies), errors, reconnects, seconds, cpu / seconds, latencies)


def _client(send, base: str, path: str, n_threads: int, record_from: float, end: float) -> None:
    parts = urlsplit(base)
    lock = threading.Lock()
    out = {"latencies": array("d"), "errors": 0, "reconnects": 0}

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def loop() -> None:
        conn = connect()
        latencies, errors, reconnects = array("d"), 0, 0
        while (start := time.time()) < end:
            t0 = time.perf_counter()
            status = 0
            for attempt in (1, 2):
                try:
                    conn.request("GET", path, headers=HEADERS)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = connect()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = connect()
                    reconnects += 1
                    if attempt == 2:
                        status = 0
            elapsed = (time.perf_counter() - t0) * 1000
            if start >= record_from and time.time() <= end:
                latencies.append(elapsed)
                errors += status != 200
        conn.close()
        with lock:
            out["latencies"].extend(latencies)
            out["errors"] += errors
            out["reconnects"] += reconnects

    threads = [threading.Thread(target=loop) for _ in range(n_threads)]
    for t in threads:
        t.start()
    wait = record_from - time.time()
    if wait > 0:
        time.sleep(wait)
    before = resource.getrusage(resource.RUSAGE_SELF)
    for t in threads:
        t.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["latencies"] = out["latencies"].tolist()
    send.send(out)
    send.close()

"""One load-generating process: an event loop driving keep-alive connections, reporting each second.

Open model (wrk2 semantics): request k is due at ``schedule.time_of(k)``; it goes out on a free connection, a
new one (up to this process's share of ``connections``), or waits in a queue. Its latency is measured from when
it was due, so a stalled server cannot hide behind requests the generator did not send; the service time (from
the actual send) is recorded beside it. A request still queued ``timeout`` after it was due, or when the run
ends, is counted as dropped — never silently skipped.

Closed model (wrk semantics): every connection sends its next request as soon as the previous answer is in.

Messages to the parent (a multiprocessing connection): ``("interval", index, data)`` once a second and
``("done", data)`` at the end; ``("fatal", message)`` when the process cannot run at all.
"""
from __future__ import annotations

import asyncio
import collections
import random
import ssl
import time
from dataclasses import dataclass, field

from . import histogram as H
from .client import Connection
from .schedule import Schedule
from .spec import BenchSpec


@dataclass
class Interval:
    lat: list = field(default_factory=list)      # intended-time latency, µs
    svc: list = field(default_factory=list)      # service time, µs
    sent: int = 0
    status: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)
    dropped: int = 0


_CLASS = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")


def _ssl_context(spec: BenchSpec) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=spec.ca_file)
    if spec.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Worker:
    def __init__(self, spec: BenchSpec, index: int, count: int, t0: float, pipe):
        self.spec, self.index, self.count, self.pipe = spec, index, count, pipe
        self.t0 = t0                                   # time.monotonic() at which the schedule starts
        self.mstart = t0 + spec.warmup                 # measurement window
        self.mend = t0 + spec.warmup + spec.load_duration
        self.nintervals = max(1, int(round(spec.load_duration)))
        share = spec.connections // count + (1 if index < spec.connections % count else 0)
        self.max_conns = max(1, share)
        self.targets = spec.targets
        self.requests = [t.request_bytes() for t in spec.targets]
        self.heads = [t.method == "HEAD" for t in spec.targets]
        origins = sorted({t.origin() for t in spec.targets})
        self.origin_of = [origins.index(t.origin()) for t in spec.targets]
        self.origins = origins
        rnd = random.Random(index)
        weights = [t.weight for t in spec.targets]
        self.picks = rnd.choices(range(len(spec.targets)), weights, k=4096) if len(spec.targets) > 1 else [0]
        self.ctx = _ssl_context(spec) if any(o[0] == "https" for o in origins) else None
        self.free: list[list[Connection]] = [[] for _ in origins]
        self.alive: set[Connection] = set()
        self.connecting = 0
        # requests waiting for a connection, one queue per origin (a slow origin must not hold up the others)
        self.queues: list[collections.deque] = [collections.deque() for _ in origins]
        self.intervals: dict[int, Interval] = {}
        self.flushed = 0                               # intervals below this index were sent
        self.per_target = [[0, 0] for _ in spec.targets]   # requests, errors
        self.closing = False
        self.nsent = 0
        self.iv_from, self.iv_to, self.iv_cur = 0.0, 0.0, None   # the cached interval of ``_iv``

    # -- bookkeeping -------------------------------------------------------------------------------------
    def _iv(self, t: float) -> Interval:
        if self.iv_from <= t < self.iv_to:           # the common case: the same second as the last call
            return self.iv_cur
        i = min(max(int(t - self.mstart), 0), self.nintervals - 1)
        iv = self.intervals.get(i)
        if iv is None:
            iv = self.intervals[i] = Interval()
        if i >= self.flushed and 0 < i < self.nintervals - 1:
            self.iv_from, self.iv_to, self.iv_cur = self.mstart + i, self.mstart + i + 1, iv
        return iv

    def _record(self, conn: Connection, status: int, error: str | None) -> None:
        intended = conn.intended
        if intended < self.mstart:
            return
        now = time.monotonic()
        iv = self._iv(now)
        tgt = self.per_target[conn.target]
        tgt[0] += 1
        if error is not None:
            iv.errors[error] += 1
            tgt[1] += 1
            return
        cls = _CLASS[status // 100] if status < 600 else "other"
        iv.status[cls] += 1
        if status >= 400:
            iv.errors[cls] += 1
            tgt[1] += 1
        iv.lat.append(int((now - intended) * 1e6))
        iv.svc.append(int((now - conn.sent_at) * 1e6))

    def _error(self, intended: float, target: int, kind: str) -> None:
        if intended >= self.mstart:
            iv = self._iv(time.monotonic())
            iv.errors[kind] += 1
            iv.sent += 1                               # attempted: a connection refused is a failed request
            self.per_target[target][0] += 1
            self.per_target[target][1] += 1

    def _dropped(self, intended: float) -> None:
        if intended >= self.mstart:
            self._iv(time.monotonic()).dropped += 1

    def _send(self, conn: Connection, intended: float, target: int) -> None:
        conn.send(self.requests[target], intended, target, self.heads[target])
        self.nsent += 1
        if intended >= self.mstart:
            self._iv(conn.sent_at).sent += 1

    def _flush(self, upto: int) -> None:
        for i in range(self.flushed, min(upto, self.nintervals)):
            iv = self.intervals.pop(i, None) or Interval()
            if iv is self.iv_cur:
                self.iv_from = self.iv_to = 0.0
            lat, svc = H.new(), H.new()
            H.add_values(lat, iv.lat)
            H.add_values(svc, iv.svc)
            self.pipe.send(("interval", i, {
                "latency": H.encode(lat), "service_time": H.encode(svc), "sent": iv.sent,
                "status": dict(iv.status), "errors": dict(iv.errors), "dropped": iv.dropped}))
            self.flushed = i + 1

    # -- connections -------------------------------------------------------------------------------------
    def _done(self, conn: Connection, status: int, error: str | None) -> None:
        self._record(conn, status, error)
        if self.closing:
            return
        if not self.spec.open_model:
            now = time.monotonic()
            if not conn.close_after and error is None and now < self.mend:
                self._send(conn, now, self.picks[self.nsent % len(self.picks)])
            return
        if conn.close_after or error is not None:
            return                                     # connection_lost follows and replaces it if needed
        o = self.origin_of[conn.target]
        q = self.queues[o]
        while q:
            intended, target = q.popleft()
            if time.monotonic() - intended > self.spec.timeout:
                self._dropped(intended)
                continue
            self._send(conn, intended, target)
            return
        for other in self.queues:
            if other:                                  # another origin waits and the cap is shared: hand over
                self.alive.discard(conn)
                conn.closed = True
                conn.transport.close()
                intended, target = other.popleft()
                self._spawn(target, intended)
                return
        self.free[o].append(conn)

    def _lost(self, conn: Connection) -> None:
        self.alive.discard(conn)
        o = self.origin_of[conn.target]
        try:
            self.free[o].remove(conn)
        except ValueError:
            pass
        if self.closing:
            return
        if self.spec.open_model:
            q = self.queues[o]
            if q and len(self.alive) + self.connecting < self.max_conns:
                intended, target = q.popleft()
                self._spawn(target, intended)
        elif time.monotonic() < self.mend:
            self._spawn(self.picks[self.nsent % len(self.picks)], None)

    def _spawn(self, target: int, intended: float | None) -> None:
        self.connecting += 1
        asyncio.get_running_loop().create_task(self._connect(target, intended))

    async def _connect(self, target: int, intended: float | None) -> None:
        scheme, host, port = self.origins[self.origin_of[target]]
        loop = asyncio.get_running_loop()
        try:
            try:
                _, conn = await asyncio.wait_for(loop.create_connection(
                    lambda: Connection(self._done, self._lost), host, port,
                    ssl=self.ctx if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None), self.spec.timeout)
            finally:
                self.connecting -= 1
        except ssl.SSLError:
            kind = "tls"
        except (OSError, asyncio.TimeoutError):
            kind = "connect"
        else:
            conn.target = target
            self.alive.add(conn)
            if self.closing:
                conn.transport.close()
                return
            if intended is None:
                intended = time.monotonic()
            self._send(conn, intended, target)
            return
        now = time.monotonic()
        self._error(intended if intended is not None else now, target, kind)
        if self.closing:
            return
        if self.spec.open_model:
            q = self.queues[self.origin_of[target]]
            if q and not self.alive and self.connecting == 0:
                intended, target = q.popleft()
                self._spawn(target, intended)
        elif now < self.mend:
            await asyncio.sleep(0.05)                  # a refused connection must not become a busy loop
            if not self.closing:
                self._spawn(target, None)

    def _dispatch(self, intended: float, target: int) -> None:
        free = self.free[self.origin_of[target]]
        while free:
            conn = free.pop()
            if not conn.closed:
                self._send(conn, intended, target)
                return
        if len(self.alive) + self.connecting < self.max_conns:
            self._spawn(target, intended)
        elif len(self.queues[self.origin_of[target]]) < 100_000:
            self.queues[self.origin_of[target]].append((intended, target))
        else:
            self._dropped(intended)

    # -- the run -----------------------------------------------------------------------------------------
    async def _sweep(self) -> None:
        """Once in a while: time out requests in flight, and flush finished seconds to the parent."""
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for conn in list(self.alive):
                if conn.busy and now - conn.sent_at > self.spec.timeout:
                    conn.abort("timeout")
            for q in self.queues:
                while q and now - q[0][0] > self.spec.timeout:
                    self._dropped(q.popleft()[0])
            # completions land in the second they happen in, the last second also takes the stragglers
            self._flush(min(int(now - self.mstart), self.nintervals - 1))

    async def _open(self) -> None:
        spec = self.spec
        if spec.stages:
            schedule = Schedule(spec.rate or 0.0, list(spec.stages))
        else:
            schedule = Schedule.constant(spec.rate, spec.warmup + spec.duration)
        k = self.index
        step = self.count
        picks, npicks = self.picks, len(self.picks)
        due = schedule.time_of(k)
        while due is not None:
            now = time.monotonic()
            at = self.t0 + due
            if at > now:
                # The loop's timers tick in milliseconds: a shorter sleep would return at once and spin the CPU.
                # So a request goes out up to ~1 ms after it was due; its latency counts that (wrk2 does too).
                await asyncio.sleep(max(at - now, 0.001))
                continue
            while due is not None and self.t0 + due <= now:
                self._dispatch(self.t0 + due, picks[(k // step) % npicks])
                k += step
                due = schedule.time_of(k)

    async def _closed(self) -> None:
        now = time.monotonic()
        if self.t0 > now:
            await asyncio.sleep(self.t0 - now)
        for i in range(self.max_conns):
            self._spawn(self.picks[(self.index + i) % len(self.picks)], None)
        await asyncio.sleep(max(0.0, self.mend - time.monotonic()))

    async def run(self) -> dict:
        sweeper = asyncio.get_running_loop().create_task(self._sweep())
        if self.spec.open_model:
            await self._open()
        else:
            await self._closed()
        # Let the last answers come in (up to the timeout), then count what is still queued as dropped.
        deadline = max(time.monotonic(), self.mend) + self.spec.timeout
        while time.monotonic() < deadline and (any(self.queues) or any(c.busy for c in self.alive) or self.connecting):
            await asyncio.sleep(0.02)
        self.closing = True
        sweeper.cancel()
        for q in self.queues:
            while q:
                self._dropped(q.popleft()[0])
        for conn in list(self.alive):
            if conn.busy:
                conn.abort("timeout")
            else:
                conn.transport.close()
        self._flush(self.nintervals)
        return {"targets": self.per_target}


def main(spec: BenchSpec, index: int, count: int, t0: float, pipe) -> None:
    """Process entry point."""
    try:
        try:
            import uvloop
            runner = uvloop.run
        except ImportError:                            # the pure-Python loop works, only slower
            runner = asyncio.run
        w = Worker(spec, index, count, t0, pipe)
        result = runner(w.run())
        pipe.send(("done", result))
    except KeyboardInterrupt:
        pass
    except Exception as e:                             # noqa: BLE001 - the parent reports it as one line
        pipe.send(("fatal", f"{type(e).__name__}: {e}"))
    finally:
        pipe.close()

"""When each request of an open-model run is meant to start: a constant rate, or stages ramping linearly.

Stages follow k6's ``ramping-arrival-rate``: the rate goes linearly from where it is to each stage's target over
the stage's duration. Request k (0, 1, 2, …) is due at the time t where the expected count ∫rate reaches k, so
the schedule is exact and the same in every worker process: process i of P sends requests i, i+P, i+2P, …
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    start: float        # seconds from the run's start
    duration: float
    r0: float           # rate at the start and end (requests/s)
    r1: float
    count0: float       # expected requests before this segment


class Schedule:
    """Intended start times (seconds from the run's start) of an open-model run."""

    def __init__(self, start_rate: float, stages: list[tuple[float, float]]):
        """``stages``: (duration seconds, target rate); a constant rate is one stage from and to that rate."""
        self.segments: list[Segment] = []
        t, r, n = 0.0, float(start_rate), 0.0
        for duration, target in stages:
            if duration <= 0:
                r = float(target)
                continue
            self.segments.append(Segment(t, duration, r, float(target), n))
            n += (r + target) / 2 * duration
            t += duration
            r = float(target)
        self.total = n
        self.end = t
        self._hint = 0                 # the segment of the last time_of answer

    @classmethod
    def constant(cls, rate: float, duration: float) -> "Schedule":
        return cls(rate, [(duration, rate)])

    def time_of(self, k: float) -> float | None:
        """When request k is due (None once the schedule is over). Fast for rising k (each worker's order)."""
        segs = self.segments
        i = self._hint if self._hint < len(segs) and segs[self._hint].count0 <= k else 0
        for i in range(i, len(segs)):
            s = segs[i]
            n = s.count0 + (s.r0 + s.r1) / 2 * s.duration
            if k < n:
                self._hint = i
                x = k - s.count0
                a = (s.r1 - s.r0) / s.duration / 2         # count(τ) = r0·τ + a·τ²
                if abs(a) < 1e-12:
                    return s.start + x / s.r0
                disc = s.r0 * s.r0 + 4 * a * x
                return s.start + (-s.r0 + math.sqrt(max(disc, 0.0))) / (2 * a)
        return None

    def rate_at(self, t: float) -> float:
        for s in self.segments:
            if t < s.start + s.duration:
                return s.r0 + (s.r1 - s.r0) * (t - s.start) / s.duration
        return self.segments[-1].r1 if self.segments else 0.0

    def count_between(self, t0: float, t1: float) -> float:
        """Expected requests due in [t0, t1)."""
        return self._count(t1) - self._count(t0)

    def _count(self, t: float) -> float:
        for s in self.segments:
            if t < s.start + s.duration:
                tau = max(t - s.start, 0.0)
                return s.count0 + s.r0 * tau + (s.r1 - s.r0) / s.duration / 2 * tau * tau
        return self.total

    @property
    def max_rate(self) -> float:
        return max((max(s.r0, s.r1) for s in self.segments), default=0.0)

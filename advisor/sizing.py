"""Right-sizing, replica counts and cost impact: the arithmetic behind scaling findings.

- Right-sizing (KRR-style): recommended = max(floor, round_up(usage × (1 + headroom), round_to)), where usage
  is p95 CPU cores or peak memory bytes over the lookback.
- Performance risk 0–4 (AWS Compute Optimizer's very low … very high): how close the observed peak comes
  to the recommended capacity: ≤60% → 0, ≤75% → 1, ≤90% → 2, ≤100% → 3, above → 4.
- Replicas (Kubernetes HPA): desired = ceil(current × observed / target), unchanged while
  |observed/target − 1| ≤ tolerance, clamped to [min, max].
- Cost: (recommended − current) × price per unit-hour × 730 h/month; negative = savings. Memory is priced
  per GB (10⁹ bytes), as cloud price lists are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

HOURS_PER_MONTH = 730
GB = 1e9


@dataclass(frozen=True, slots=True)
class SizingResult:
    resource: str                       # cpu (cores) | memory (bytes)
    usage: float                        # the usage sizing is based on (p95 cores / peak bytes)
    peak: float                         # highest usage observed
    current: float | None               # current capacity (None when unknown)
    recommended: float
    headroom: float
    performance_risk: int               # 0 (very low) … 4 (very high)
    monthly_cost_change: float | None   # negative = savings; None without a current capacity or price

    @property
    def change(self) -> float | None:
        return None if self.current is None else self.recommended - self.current


@dataclass(frozen=True, slots=True)
class ReplicaResult:
    current: int
    desired: int
    observed: float
    target: float
    ratio: float
    within_tolerance: bool


def round_up(value: float, step: float) -> float:
    """Value rounded up to a multiple of step (unchanged for step ≤ 0)."""
    if step <= 0 or not math.isfinite(value / step):
        return value   # ±Inf, NaN or a value near the float limit: nothing to round
    return math.ceil(value / step - 1e-9) * step


def performance_risk(peak: float, recommended: float) -> int:
    if recommended <= 0:
        return 4 if peak > 0 else 0
    ratio = peak / recommended
    for level, limit in enumerate((0.6, 0.75, 0.9, 1.0)):
        if ratio <= limit:
            return level
    return 4


def unit_price(resource: str, price: float) -> float:
    """Price per unit-hour of the resource's native unit (core, byte)."""
    return price / GB if resource == "memory" else price


def monthly_cost(resource: str, amount: float, price: float) -> float:
    return amount * unit_price(resource, price) * HOURS_PER_MONTH


def right_size(resource: str, usage: float, peak: float, current: float | None, *, headroom: float,
               floor: float, round_to: float, price: float) -> SizingResult:
    """A right-sizing recommendation for one target."""
    recommended = max(floor, round_up(max(usage, 0.0) * (1 + headroom), round_to))
    cost = None
    if current is not None and price > 0:
        cost = monthly_cost(resource, recommended - current, price)
    return SizingResult(resource, usage, peak, current, recommended, headroom,
                        performance_risk(peak, recommended), cost)


def decommission(resource: str, usage: float, peak: float, current: float, price: float,
                 extra_amount: float | None = None, extra_price: float = 0.0) -> SizingResult:
    """Removing an idle target: everything it costs is saved (CPU, plus its memory when known)."""
    cost = -monthly_cost(resource, current, price) if price > 0 else None
    if extra_amount is not None and extra_price > 0:
        cost = (cost or 0.0) - monthly_cost("memory", extra_amount, extra_price)
    return SizingResult(resource, usage, peak, current, 0.0, 0.0, 0, cost)


def replicas(current: int, observed: float, target: float, *, tolerance: float = 0.1, minimum: int = 1,
             maximum: int = 1000) -> ReplicaResult:
    """The HPA's desired replica count."""
    if target <= 0:
        raise ValueError("target utilization must be positive")
    ratio = observed / target
    within = abs(ratio - 1.0) <= tolerance
    if not math.isfinite(ratio):
        desired = maximum if ratio > 0 else current
    else:
        desired = current if within else math.ceil(current * ratio - 1e-9)
    desired = max(minimum, min(maximum, desired))
    return ReplicaResult(current, desired, observed, target, ratio, within)

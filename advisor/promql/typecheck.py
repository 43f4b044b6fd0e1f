"""Checks Prometheus applies after parsing that the Rust parser leaves to the engine."""
from __future__ import annotations

from .parse import Agg, Binary, Call, MatrixSel, Neg, ParseError, Subquery


def check(node) -> None:
    """Raise ParseError for queries Prometheus rejects before evaluation."""
    if isinstance(node, Call):
        for a in node.args:
            check(a)
    elif isinstance(node, Agg):
        check(node.expr)
        if node.param is not None:
            check(node.param)
    elif isinstance(node, Binary):
        check(node.lhs)
        check(node.rhs)
    elif isinstance(node, (Neg, Subquery)):
        check(node.expr)
    elif isinstance(node, MatrixSel):
        if node.range_ms <= 0:
            raise ParseError("range must be positive")

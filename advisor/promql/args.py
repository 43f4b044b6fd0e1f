"""Evaluating and checking function arguments."""
from __future__ import annotations

import numpy as np

from .values import EvalError, Mat, Scal, StrV, Vec


def scalar_arg(ev, arg) -> np.ndarray:
    v = ev.eval(arg)
    if not isinstance(v, Scal):
        raise EvalError("expected scalar argument")
    return v.vals


def vector_arg(ev, arg) -> Vec:
    v = ev.eval(arg)
    if not isinstance(v, Vec):
        raise EvalError("expected instant vector argument")
    return v


def matrix_arg(ev, arg) -> Mat:
    v = ev.eval(arg)
    if not isinstance(v, Mat):
        raise EvalError("expected range vector argument")
    return v




def string_arg(ev, arg) -> str:
    v = ev.eval(arg)
    if not isinstance(v, StrV):
        raise EvalError("expected string argument")
    return v.val

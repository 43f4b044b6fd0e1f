"""timex: the kernel clock discipline state from adjtimex(2) (node_timex_*), read-only (modes = 0)."""
from __future__ import annotations

import ctypes
import ctypes.util

from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ..families import single

_long = ctypes.c_long


class _Timex(ctypes.Structure):
    """struct timex (linux/timex.h); the trailing padding reserves room for fields newer kernels add."""

    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", _long), ("freq", _long), ("maxerror", _long), ("esterror", _long),
        ("status", ctypes.c_int), ("constant", _long), ("precision", _long), ("tolerance", _long),
        ("time_sec", _long), ("time_usec", _long), ("tick", _long), ("ppsfreq", _long), ("jitter", _long),
        ("shift", ctypes.c_int), ("stabil", _long), ("jitcnt", _long), ("calcnt", _long), ("errcnt", _long),
        ("stbcnt", _long), ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 11),
    ]


TIME_ERROR = 5  # adjtimex's return value when the clock is not synchronized
STA_NANO = 0x2000  # offset and jitter are in ns instead of µs
PPM16 = 1_000_000.0 * 65536.0  # frequencies are ppm with a 16-bit fraction


@register("timex", default=True, help="Kernel clock discipline state from adjtimex(2) (node_timex_*).")
class TimexCollector:
    families = (
        Family("node_timex_sync_status", "gauge"),
        Family("node_timex_{offset,maxerror,estimated_error,tick,tai_offset,pps_jitter,pps_shift}_seconds", "gauge"),
        Family("node_timex_frequency_adjustment_ratio", "gauge"),
        Family("node_timex_status", "gauge"),
        Family("node_timex_loop_time_constant", "gauge"),
        Family("node_timex_pps_{frequency,stability}_hertz", "gauge"),
        Family("node_timex_pps_{jitter,calibration,error,stability_exceeded}_total", "counter"),
    )

    def __init__(self, ctx: CollectorContext):
        self._adjtimex = None
        if LINUX:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            self._adjtimex = libc.adjtimex
            self._adjtimex.argtypes = [ctypes.POINTER(_Timex)]

    def collect(self):
        if self._adjtimex is None:
            return
        tx = _Timex()
        state = self._adjtimex(ctypes.byref(tx))
        if state < 0:
            raise OSError(ctypes.get_errno(), "adjtimex failed")
        div = 1e9 if tx.status & STA_NANO else 1e6
        g = "gauge"
        yield single("node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).", g,
                     0 if state == TIME_ERROR else 1)
        yield single("node_timex_offset_seconds", "Time offset in between local system and reference clock.", g,
                     tx.offset / div)
        yield single("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.", g,
                     1 + tx.freq / PPM16)
        yield single("node_timex_maxerror_seconds", "Maximum error in seconds.", g, tx.maxerror / 1e6)
        yield single("node_timex_estimated_error_seconds", "Estimated error in seconds.", g, tx.esterror / 1e6)
        yield single("node_timex_status", "Value of the status array bits.", g, tx.status)
        yield single("node_timex_loop_time_constant", "Phase-locked loop time constant.", g, tx.constant)
        yield single("node_timex_tick_seconds", "Seconds between clock ticks.", g, tx.tick / 1e6)
        yield single("node_timex_pps_frequency_hertz", "Pulse per second frequency.", g, tx.ppsfreq / PPM16)
        yield single("node_timex_pps_jitter_seconds", "Pulse per second jitter.", g, tx.jitter / div)
        yield single("node_timex_pps_shift_seconds", "Pulse per second interval duration.", g, tx.shift)
        yield single("node_timex_pps_stability_hertz",
                     "Pulse per second stability, average of recent frequency changes.", g, tx.stabil / PPM16)
        yield single("node_timex_pps_jitter", "Pulse per second count of jitter limit exceeded events.", "counter",
                     tx.jitcnt)
        yield single("node_timex_pps_calibration", "Pulse per second count of calibration intervals.", "counter",
                     tx.calcnt)
        yield single("node_timex_pps_error", "Pulse per second count of calibration errors.", "counter", tx.errcnt)
        yield single("node_timex_pps_stability_exceeded",
                     "Pulse per second count of stability limit exceeded events.", "counter", tx.stbcnt)
        yield single("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.", g, tx.tai)

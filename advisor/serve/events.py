"""Live updates: events published by the evaluation thread, fanned out to SSE and WebSocket subscribers.

Each subscriber has a bounded queue; a subscriber too slow to keep up loses its oldest events (and gets a
``lagged`` event saying how many) rather than growing the service's memory.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

QUEUE = 256


class Events:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue] = set()
        self._ids = itertools.count(1)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """From any thread."""
        event = {"id": next(self._ids), "type": kind, "time": time.time(), "data": data}
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._fanout, event)

    def _fanout(self, event: dict) -> None:
        for q in list(self._subscribers):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
                q.lagged = getattr(q, "lagged", 0) + 1
            q.put_nowait(event)

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(QUEUE)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self._subscribers.discard(q)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

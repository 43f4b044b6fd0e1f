"""A minimal HTTP/1.1 keep-alive client as an asyncio Protocol: one request at a time per connection.

Fast because it does little: the request bytes are built once per target, the response is parsed only as far
as framing needs (status, Content-Length or chunked, Connection: close) and the body is counted, not kept.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

MAX_HEAD = 64 * 1024          # a response head longer than this is an error, not an allocation


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 we can frame."""


def build_request(method: str, host_header: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The request's bytes, sent as they are for every request to this target."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host_header}"]
    names = {k.lower() for k in headers}
    if "user-agent" not in names:
        lines.append("User-Agent: perfadvisor-bench")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One keep-alive connection. ``done(conn, status, error_kind)`` is called once per request it sends."""

    __slots__ = ("transport", "done", "lost", "buf", "state", "remaining", "status", "close_after", "busy",
                 "sent_at", "intended", "target", "head_request", "closed")

    def __init__(self, done: Callable, lost: Callable):
        self.transport = None
        self.done, self.lost = done, lost
        self.buf = bytearray()
        self.state = 0            # 0 head, 1 body by length, 2 chunk size line, 3 chunk data, 4 chunk trailer, 5 until close
        self.remaining = 0
        self.status = 0
        self.close_after = False
        self.busy = False
        self.sent_at = 0.0
        self.intended = 0.0
        self.target = 0
        self.head_request = False
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, data: bytes, intended: float, target: int, head_request: bool = False) -> None:
        self.busy = True
        self.intended = intended
        self.target = target
        self.head_request = head_request
        self.state = 0
        self.sent_at = time.monotonic()
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            return                    # bytes nobody asked for: ignored; the next request resets the framing
        buf = self.buf
        if not buf and self.state == 0:
            # The common case, a whole head (and often the whole body) in one read: no copy into the buffer.
            i = data.find(b"\r\n\r\n")
            if i >= 0:
                try:
                    self._head(data[:i])
                except (ValueError, ProtocolError):
                    self._fail("protocol")
                    return
                rest = len(data) - i - 4
                if not self.busy or rest == 0:
                    return
                if self.state == 1 and rest <= self.remaining:
                    if rest == self.remaining:
                        self._finish(None)
                    else:
                        self.remaining -= rest
                    return
                data = data[i + 4:]
        buf += data
        try:
            while self.busy:
                st = self.state
                if st == 0:
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        if len(buf) > MAX_HEAD:
                            raise ProtocolError("response head too long")
                        return
                    self._head(bytes(buf[:i]))
                    del buf[:i + 4]
                elif st == 1:
                    n = len(buf)
                    if n < self.remaining:
                        self.remaining -= n
                        buf.clear()
                        return
                    del buf[:self.remaining]
                    self._finish(None)
                elif st == 2:
                    i = buf.find(b"\r\n")
                    if i < 0:
                        if len(buf) > 4096:
                            raise ProtocolError("chunk size line too long")
                        return
                    size = int(bytes(buf[:i]).split(b";", 1)[0].strip() or b"x", 16)
                    del buf[:i + 2]
                    if size == 0:
                        self.state = 4
                    else:
                        self.state, self.remaining = 3, size + 2   # the data and its CRLF
                elif st == 3:
                    n = len(buf)
                    if n < self.remaining:
                        self.remaining -= n
                        buf.clear()
                        return
                    del buf[:self.remaining]
                    self.state = 2
                elif st == 4:                      # trailers end with an empty line
                    if buf[:2] == b"\r\n":
                        del buf[:2]
                        self._finish(None)
                        continue
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        if len(buf) > MAX_HEAD:
                            raise ProtocolError("chunked trailers too long")
                        return
                    del buf[:i + 4]
                    self._finish(None)
                else:                              # body until the server closes
                    buf.clear()
                    return
        except (ValueError, ProtocolError):
            self._fail("protocol")

    def _head(self, head: bytes) -> None:
        if head[:5] != b"HTTP/" or len(head) < 12:
            raise ProtocolError("not an HTTP response")
        status = int(head[9:12])
        if status < 200:                          # 100 Continue and friends: the real answer follows
            return
        self.status = status
        lower = head.lower()
        self.close_after = b"\nconnection: close" in lower or head[5:8] == b"1.0"
        if self.head_request or status in (204, 304):
            self._finish(None)
            return
        i = lower.find(b"\ncontent-length:")
        if i >= 0:
            j = lower.find(b"\r\n", i + 1)
            self.remaining = int(lower[i + 16:j if j >= 0 else None])
            if self.remaining == 0:
                self._finish(None)
            else:
                self.state = 1
        elif b"\ntransfer-encoding:" in lower and b"chunked" in lower:
            self.state = 2
        else:
            self.state = 5
            self.close_after = True

    def _finish(self, error: str | None) -> None:
        self.busy = False
        self.state = 0
        self.done(self, self.status, error)
        if self.close_after and not self.closed:
            self.closed = True
            self.transport.close()

    def _fail(self, kind: str) -> None:
        self.close_after = True
        if self.busy:
            self._finish(kind)
        elif not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self, kind: str) -> None:
        """Give up on the request in flight (a timeout) and drop the connection."""
        self.close_after = True
        if self.busy:
            self._finish(kind)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.busy:
            if self.state == 5:                   # a body framed by the close: complete now
                self.close_after = False
                self._finish(None)
            else:
                self._finish("reset")
        self.lost(self)

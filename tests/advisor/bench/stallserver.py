"""A test HTTP/1.1 server with a known latency pattern: every answer takes DELAY seconds, and during the first
STALL seconds of every PERIOD (from its start) nothing is answered until the stall ends.

Run as ``python stallserver.py --stall S --period P --delay D``; prints its port on stdout once listening.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

BODY = b"ok"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n" + BODY
# The same answer chunked, written in pieces that split the head, a chunk and the trailer across reads.
CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: te", b"xt/plain\r\nTransfer-Encoding: chunked\r\n\r\n1\r\no",
           b"\r\n1;ext=1\r\nk\r\n0\r\n", b"X-Trailer: yes\r\n\r\n")


async def main(stall: float, period: float, delay: float, chunked: bool = False) -> None:
    t0 = time.monotonic()

    async def wait_out_stall() -> None:
        if stall > 0:
            phase = (time.monotonic() - t0) % period
            if phase < stall:
                await asyncio.sleep(stall - phase)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                await wait_out_stall()
                if delay:
                    await asyncio.sleep(delay)
                await wait_out_stall()
                if chunked:
                    for piece in CHUNKED:
                        writer.write(piece)
                        await writer.drain()
                        await asyncio.sleep(0.001)
                else:
                    writer.write(RESPONSE)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--stall", type=float, default=0.0)
    p.add_argument("--period", type=float, default=1.0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--chunked", action="store_true")
    a = p.parse_args()
    try:
        asyncio.run(main(a.stall, a.period, a.delay, a.chunked))
    except KeyboardInterrupt:
        sys.exit(0)

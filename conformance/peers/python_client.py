"""Calibration peer: Python `websockets` client speaking Autobahn's client protocol.

Usage: /usr/bin/python3 python_client.py ws://127.0.0.1:9001 [agent]
"""
import asyncio
import sys
from urllib.parse import quote

import websockets

OPTS = dict(max_size=None, max_queue=None, ping_interval=None, compression="deflate", open_timeout=5, close_timeout=2)


async def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
    agent = quote(sys.argv[2] if len(sys.argv) > 2 else "python")
    async with websockets.connect(f"{base}/getCaseCount", **OPTS) as ws:
        count = int(await ws.recv())
    for i in range(1, count + 1):
        try:
            async with websockets.connect(f"{base}/runCase?case={i}&agent={agent}", **OPTS) as ws:
                async for message in ws:
                    await ws.send(message)
        except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError, asyncio.TimeoutError):
            pass  # failing connections is what many cases are about
    async with websockets.connect(f"{base}/updateReports?agent={agent}", **OPTS) as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass


if __name__ == "__main__":
    asyncio.run(main())

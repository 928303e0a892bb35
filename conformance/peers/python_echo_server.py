"""Calibration peer: Python `websockets` echo server (Debian python3-websockets).

Run with /usr/bin/python3. Prints "LISTENING <port>" once bound.
Limits are lifted (max_size/max_queue) so section 9 messages pass.
"""
import asyncio
import sys

import websockets


async def echo(ws, *_):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None, max_queue=None,
                                ping_interval=None, compression="deflate") as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"LISTENING {bound}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

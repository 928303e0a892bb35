"""Echo server on Python `websockets` (Debian python3-websockets), a second implementation
for hyperwire's client tests. Prints its port on stdout, then serves until killed.

Commands a client may send as text:
  close:<code>:<reason>  the server starts the closing handshake with that code and reason
  ping:<data>            the server sends a ping with <data>, then echoes "pinged:<data>"
  abort                  the server drops the TCP connection without a Close frame
Anything else is echoed back with the same type (text or binary).
"""
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close:"):
                _, code, reason = message.split(":", 2)
                await ws.close(int(code), reason)
                return
            if isinstance(message, str) and message.startswith("ping:"):
                data = message[5:]
                waiter = await ws.ping(data.encode())
                await waiter
                await ws.send("pinged:" + data)
                continue
            if message == "abort":
                ws.transport.abort()
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=["chat", "superchat"] if "--subprotocols" in sys.argv else None,
        compression=None,
        max_size=None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


asyncio.run(main())

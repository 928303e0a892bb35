"""Python `websockets` peer for permessage-deflate interop tests (Debian's /usr/bin/python3).

client PORT PARAMS_JSON: connect with those ClientPerMessageDeflateFactory params, echo-check
  a few messages, print the negotiated Sec-WebSocket-Extensions, exit 0.
server PARAMS_JSON: echo server with ServerPerMessageDeflateFactory params; prints the port,
  runs until stdin closes.
"""
import asyncio, json, sys
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

MESSAGES = ["hi", json.dumps([{"id": i, "name": "user-%d" % i} for i in range(80)]) * 3, b"\x00\x01" * 40000, "x" * 300000, ""]

async def client(port, params):
    async with websockets.connect("ws://127.0.0.1:%d/" % port, extensions=[ClientPerMessageDeflateFactory(**params)], compression=None, max_size=2**24) as ws:
        for m in MESSAGES:
            await ws.send(m)
            got = await ws.recv()
            assert got == m, "echo mismatch for %d bytes" % len(m)
        print(ws.response_headers.get("Sec-WebSocket-Extensions", ""))

async def server(params):
    async def echo(ws, path=None):
        async for m in ws:
            await ws.send(m)
    async with websockets.serve(echo, "127.0.0.1", 0, extensions=[ServerPerMessageDeflateFactory(**params)], compression=None, max_size=2**24) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)

if sys.argv[1] == "client":
    asyncio.run(client(int(sys.argv[2]), json.loads(sys.argv[3])))
else:
    asyncio.run(server(json.loads(sys.argv[2])))

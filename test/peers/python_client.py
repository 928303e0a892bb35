"""A Python `websockets` client used as a second implementation in tests.

usage: python_client.py URL SCRIPT_JSON
SCRIPT_JSON: {"messages": [{"kind": "text"|"binary", "size": N, "fragments": K}],
              "ping": bool, "close": [code, reason]}
Sends each message, expects it echoed back identically, optionally pings, then closes.
Prints one JSON line: {"echoed": n, "pong": bool, "close_code": c, "close_reason": r}.
"""
import asyncio, json, sys
import websockets


def make(kind, size):
    if kind == "text":
        base = "héllo wörld €𝄞 "
        s = (base * (size // len(base.encode()) + 1)).encode()[:size]
        # cut to a character boundary so the text stays valid UTF-8
        return s.decode("utf-8", "ignore")
    return bytes((i * 7) & 0xFF for i in range(size))


async def main(url, script):
    out = {"echoed": 0, "pong": False}
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        for m in script.get("messages", []):
            data = make(m["kind"], m["size"])
            k = m.get("fragments", 1)
            if k > 1:
                step = max(1, len(data) // k)
                await ws.send([data[i:i + step] for i in range(0, len(data), step)] or [data])
            else:
                await ws.send(data)
            back = await ws.recv()
            if back != data:
                raise SystemExit(f"echo mismatch for {m}")
            out["echoed"] += 1
        if script.get("ping"):
            waiter = await ws.ping(b"py-ping")
            await asyncio.wait_for(waiter, 5)
            out["pong"] = True
        code, reason = script.get("close", [1000, ""])
        await ws.close(code, reason)
        out["close_code"] = ws.close_code
        out["close_reason"] = ws.close_reason
    print(json.dumps(out), flush=True)


asyncio.run(asyncio.wait_for(main(sys.argv[1], json.loads(sys.argv[2])), 60))

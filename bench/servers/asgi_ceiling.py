"""The ASGI ceiling for the bench's echo: the least a Socket.IO server under uvicorn can do per
request, with uvicorn configured as for python_socketio.py and roomcast_asgi.py.

It answers the Engine.IO handshake and CONNECT with fixed strings and `echo` by slicing the
request text: no validation, no JSON parsing, no ack bookkeeping. No real server does less
per frame, so its echo bounds what any Socket.IO server gets through uvicorn's WebSocket and
ASGI layers. `join` and `fanout` are there for the wire contract only: its fan-out (one
`send` per member, gathered per event) is not a bound, and roomcast's ASGIApp beats it.

Usage: PORT=3000 bench/.venv/bin/python bench/servers/asgi_ceiling.py
"""

import asyncio
import json

from uvicorn_serve import serve

OPEN = '0{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
ECHO_PREFIX = '["echo",'
JOIN_PREFIX = '["join",'
FANOUT_PREFIX = '["fanout",'

rooms: dict[str, list] = {}
_next_sid = 0


async def app(scope, receive, send):
    global _next_sid
    if scope["type"] != "websocket":
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        return
    if (await receive())["type"] != "websocket.connect":
        return
    _next_sid += 1
    sid = f"s{_next_sid}"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": OPEN % sid})
    joined: list[str] = []
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if text.startswith("42"):
                # 42<id>[...]: the ack id is the digits before the array.
                bracket = text.index("[")
                ack_id = text[2:bracket]
                body = text[bracket:]
                if body.startswith(ECHO_PREFIX):
                    await send({"type": "websocket.send", "text": f"43{ack_id}[{body[len(ECHO_PREFIX):]}"})
                elif body.startswith(JOIN_PREFIX):
                    room = json.loads(body)[1]
                    rooms.setdefault(room, []).append(send)
                    joined.append(room)
                    if ack_id:
                        await send({"type": "websocket.send", "text": f"43{ack_id}[{json.dumps(room)}]"})
                elif body.startswith(FANOUT_PREFIX):
                    req = json.loads(body)[1]
                    members = list(rooms.get(req["room"], ()))
                    event = json.dumps(req.get("event") or "tick")
                    for i in range(int(req.get("count") or 0)):
                        frame = {"type": "websocket.send", "text": f'42[{event},{{"i":{i}}}]'}
                        await asyncio.gather(*(member(frame) for member in members), return_exceptions=True)
            elif text.startswith("40"):
                await send({"type": "websocket.send", "text": '40{"sid":"%s"}' % sid})
    finally:
        for room in joined:
            members = rooms.get(room)
            if members and send in members:
                members.remove(send)


if __name__ == "__main__":
    serve(app)

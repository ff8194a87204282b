"""A WSGI app on the native listener: the core parses HTTP and queues every request outside
the Socket.IO path (bounded: when full it answers 503 itself); a pool of worker threads
takes them, runs the app (PEP 3333) and streams the response back. A worker waits for
requests, request bodies and slow clients without the GIL."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import unquote_to_bytes

from . import _native

__all__ = ["WSGIHost"]

logger = logging.getLogger("roomcast.wsgi")

Environ = dict[str, Any]
WSGI = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]

# How often an idle worker looks up from the queue (it notices a close at once anyway).
_IDLE_WAIT = 1.0

# Headers the server owns (PEP 3333 forbids hop-by-hop headers from the app).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade"}
)


class _Input:
    """``wsgi.input``: reads the request body chunk by chunk as the app asks for it."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange
        self._buffer = bytearray()
        self._done = False

    def _fill(self) -> bool:
        if self._done:
            return False
        chunk = self._exchange.read_chunk()
        if not chunk:
            self._done = True
            return False
        self._buffer += chunk
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            size = len(self._buffer)
        while len(self._buffer) < size and self._fill():
            pass
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def read1(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._fill()
        return self.read(min(size, len(self._buffer)) if size >= 0 else len(self._buffer))

    def readline(self, size: int | None = -1) -> bytes:
        limit = sys.maxsize if size is None or size < 0 else size
        while b"\n" not in self._buffer and len(self._buffer) < limit and self._fill():
            pass
        end = self._buffer.find(b"\n")
        end = len(self._buffer) if end < 0 else end + 1
        return self.read(min(end, limit))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def _environ(exchange: Any, url_scheme: str) -> Environ:
    method, path, query, protocol, headers, remote, local = exchange.take_head()
    environ: Environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # PEP 3333: the decoded path as latin-1 text; the query string as sent.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_PROTOCOL": protocol,
        "SERVER_NAME": local[0] if local else "localhost",
        "SERVER_PORT": str(local[1]) if local else "80",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.input": _Input(exchange),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        # The core ends the body at Content-Length or the last chunk.
        "wsgi.input_terminated": True,
    }
    if remote:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = remote[0], str(remote[1])
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = name
        else:
            key = "HTTP_" + name
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            environ[key] = value
    return environ


class _Response:
    """start_response and the writes of one request, sent once the first body bytes (or
    the end) arrive, as PEP 3333 asks."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.started = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise RuntimeError("start_response() called twice without exc_info")
        try:
            self.status = int(status.split(" ", 1)[0])
        except ValueError:
            raise ValueError(f"bad WSGI status line {status!r}: it must start with a number") from None
        self.headers = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        return self.write

    def has_length(self) -> bool:
        return any(k.lower() == "content-length" for k, _ in self.headers)

    def send_head(self) -> None:
        if self.status is None:
            raise RuntimeError("the WSGI app returned without calling start_response()")
        if not self.started:
            self.started = True
            self.exchange.start(self.status, self.headers)

    def write(self, data: bytes) -> None:
        self.send_head()
        self.exchange.write(data)


class WSGIHost:
    """Runs ``app`` for the native listener's requests outside the Socket.IO path on
    ``threads`` worker threads; ``backlog`` more requests may wait for a worker."""

    def __init__(self, native_server: Any, app: WSGI, threads: int, backlog: int, shutdown_grace: float) -> None:
        if not callable(app):
            raise TypeError(f"wsgi_app must be a WSGI callable app(environ, start_response), not {app!r}")
        if int(threads) < 1:
            raise ValueError(f"wsgi_threads must be at least 1, not {threads!r}")
        if int(backlog) < 0:
            raise ValueError(f"wsgi_backlog must be 0 or more, not {backlog!r}")
        self.app = app
        self.shutdown_grace = float(shutdown_grace)
        self.url_scheme = "http"
        self._queue: _native.HttpQueue = native_server.serve_http(int(threads), int(backlog), float(shutdown_grace))
        self._threads = [
            threading.Thread(target=self._work, name=f"roomcast-wsgi-{i}", daemon=True) for i in range(int(threads))
        ]
        for t in self._threads:
            t.start()

    def close(self, join: bool = False) -> None:
        """Takes no more requests; with ``join``, waits for the workers to stop: at once when
        idle (the closed queue wakes them), else up to the shutdown grace for the request a
        worker still holds."""
        self._queue.close()
        if not join:
            return
        deadline = time.monotonic() + self.shutdown_grace + 2 * _IDLE_WAIT
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive() and t is not threading.current_thread()]
        if stuck:
            logger.warning("roomcast: WSGI workers still busy after the shutdown grace: %s", ", ".join(stuck))

    def _work(self) -> None:
        while True:
            exchange = self._queue.next(_IDLE_WAIT)
            if exchange is None:
                continue
            if exchange is False:
                return
            try:
                self._serve(exchange)
            except BaseException:  # a worker must outlive any request
                logger.exception("roomcast: serving a WSGI request failed")

    def _serve(self, exchange: Any) -> None:
        response = _Response(exchange)
        try:
            environ = _environ(exchange, self.url_scheme)
            result = self.app(environ, response.start_response)
        except Exception:
            logger.exception("roomcast: the WSGI app raised")
            exchange.finish(False)  # unstarted: answered 500
            return
        broken = False
        try:
            if (
                isinstance(result, (list, tuple))
                and len(result) == 1
                and response.status is not None
                and not response.has_length()
            ):
                response.headers.append(("Content-Length", str(len(result[0]))))
            for chunk in result:
                if chunk:
                    response.write(chunk)
            response.send_head()
        except ConnectionError:
            broken = True  # the client left; nothing more to send
        except Exception:
            logger.exception("roomcast: the WSGI app failed while answering %s", environ.get("PATH_INFO"))
            broken = response.started
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("roomcast: closing the WSGI response failed")
            exchange.finish(broken)


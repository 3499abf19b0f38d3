"""A gunicorn worker that keeps slow clients off the scoring threads and drains before it exits.

gunicorn's gthread worker hands a connection to a pool thread as soon as it is readable, and
the thread then reads the request line, the headers and the body with no deadline: two
clients that stall mid-body hold both threads of a 2-worker x 1-thread server. gunicorn's docs
assume a buffering proxy in front; :class:`BufferingWorker` is that buffer, inside the worker:

* every connection is read, non-blocking, into a per-connection buffer until a whole request
  is there (:mod:`credit_glm.service.framing`): when the event loop sees a connection readable
  a pool thread reads what has arrived, without waiting, and serves the request if it is now
  complete, else hands the connection back to the loop. gunicorn's parser only ever reads bytes
  already in memory (a socket-like replay of the buffer), so no thread ever waits for a
  client; the Flask app and gunicorn's parser are unchanged;
* the header block must arrive within ``serving.header_timeout`` of the accept (or of its first
  byte, on a kept-alive connection) and the body within ``serving.body_timeout`` of the header
  block's end; past either the client gets a ``408`` problem and the connection is closed. A
  body over ``serving.max_body_bytes`` is a ``413`` before it is read; a connection that sends
  nothing is closed silently after ``serving.header_timeout``;
* a kept-alive connection goes back to the loop (closed after ``serving.keepalive`` seconds
  idle, as in gunicorn), with the bytes a client pipelined behind its request kept;
* a response a client does not read for ``serving.body_timeout`` seconds is abandoned.

Shutdown, lossless: a stopping worker stops the kernel from completing new handshakes on its
listeners (:func:`refuse_new_connections`), accepts and serves, with ``Connection: close``,
every connection already in their accept queues, and only then closes them, so no connection
the kernel accepted is reset. A worker sent SIGTERM directly (``kill -TERM -PGID``, systemd's
default) first drains as the master does: ``/ready`` answers 503 and requests are served for
``serving.drain_seconds``; SIGTERM from the stopping master stops it at once.
"""

from __future__ import annotations

import ctypes
import errno
import heapq
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable

# gthread workers build their thread pool from it as they start: imported here, before the
# forks, it is loaded once instead of in every worker
from concurrent.futures import ThreadPoolExecutor  # noqa: F401
from functools import partial
from typing import Any, Final

from gunicorn import http
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from credit_glm.service.framing import Complete, NeedMore, Refused, RequestFramer

__all__ = ["BufferingWorker", "refuse_new_connections"]

SO_ATTACH_FILTER: Final = 26  # <asm-generic/socket.h>; not exported by the socket module
# How long a stopping worker keeps accepting after its listeners refuse new handshakes: a
# handshake the kernel was completing at that moment still reaches the accept queue.
ACCEPT_LINGER: Final = 0.25
# How long a closing connection is read (and discarded) after its response, so that unread
# request bytes do not turn the close into a reset that could destroy the response.
CLOSE_LINGER: Final = 2.0
_RECV_SIZE: Final = 65536

# classic BPF over a TCP segment (a socket filter sees it from the TCP header on):
# drop a segment whose flags have SYN set and ACK clear (a new handshake), pass every other one
_BPF_LDB_ABS, _BPF_AND_K, _BPF_JEQ_K, _BPF_RET_K = 0x30, 0x54, 0x15, 0x06
_SYN_DROP: Final = (
    (_BPF_LDB_ABS, 0, 0, 13),  # A = TCP flags byte
    (_BPF_AND_K, 0, 0, 0x12),  # A &= SYN | ACK
    (_BPF_JEQ_K, 0, 1, 0x02),  # A == SYN ? next : skip one
    (_BPF_RET_K, 0, 0, 0),  # drop
    (_BPF_RET_K, 0, 0, 0xFFFFFFFF),  # pass whole
)


def refuse_new_connections(listener: socket.socket) -> bool:
    """Make the kernel drop new connection attempts (SYNs) to a listening TCP socket.

    Connections already in the accept queue, and handshakes already answered, are untouched
    and can still be accepted; a client whose SYN is dropped retransmits it and is refused once
    the socket is closed. Closing a listener with connections still queued resets them; this
    lets the queue be drained first. Linux only (``SO_ATTACH_FILTER``); returns whether the
    filter is attached.
    """
    if listener.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    code = b"".join(struct.pack("HBBI", *insn) for insn in _SYN_DROP)
    program = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(_SYN_DROP), ctypes.addressof(program))
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True


class _Replay:
    """A socket-like source that yields one buffered request to gunicorn's parser, then EOF."""

    def __init__(self) -> None:
        self._data = memoryview(b"")

    def load(self, data: bytes) -> None:
        self._data = memoryview(data)

    def recv(self, size: int) -> bytes:
        chunk = bytes(self._data[:size])
        self._data = self._data[len(chunk) :]
        return chunk

    def left(self) -> int:
        return len(self._data)


# connection states on the event loop
_HEADERS, _BODY, _IDLE, _READING, _POOL, _LINGER, _CLOSED = (
    "headers",
    "body",
    "idle",
    "reading",
    "pool",
    "linger",
    "closed",
)
# what a read attempt in a pool thread hands back to the event loop
_MORE, _GONE = object(), object()
_ON_LOOP: Final = frozenset((_HEADERS, _BODY, _IDLE, _LINGER))


class BufferedConn(TConn):  # type: ignore[misc]
    """A client connection: its buffer, its framing and its current deadline."""

    parser: Any

    def __init__(
        self, cfg: Any, sock: socket.socket, client: Any, server: Any, framer: RequestFramer
    ) -> None:
        super().__init__(cfg, sock, client, server)  # leaves the socket non-blocking
        self.buf = bytearray()
        self.framer = framer
        self.replay = _Replay()
        self.state = _HEADERS
        self.deadline = 0.0
        self.timer = 0  # the live heap entry's number; older entries are stale
        self.sent_continue = False
        self.client_closes = False  # the last request said "Connection: close" (or HTTP/1.0)
        self.read_from = _HEADERS  # the state a read attempt started from
        self.framing: NeedMore | Refused | None = None  # what that attempt found
        self.data_ready = True  # gunicorn's data wait is never needed: the request is here
        self.on_readable: Callable[[Any], None] | None = None

    def init(self) -> None:
        if self.parser is None:
            self.initialized = True
            self.parser = RequestParser(self.cfg, self.replay, self.client)


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, with requests buffered on the event loop (module docstring).

    The settings come from the application (``ServiceApplication``): ``settings`` (the
    ``serving`` config) and ``readiness`` (the shared draining flag).
    """

    alive: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from credit_glm.config import ServingConfig
        from credit_glm.service.readiness import Readiness

        # an application other than ServiceApplication (a benchmark's floor) gets the defaults
        settings = getattr(self.app, "settings", None) or ServingConfig()
        self.readiness = getattr(self.app, "readiness", None) or Readiness()
        self.header_timeout = float(settings.header_timeout)
        self.body_timeout = float(settings.body_timeout)
        self.drain_seconds = float(settings.drain_seconds)
        self.max_body_bytes = int(settings.max_body_bytes)
        # gunicorn's own header limits, as its parser computes them
        self.max_header_bytes = (
            self.cfg.limit_request_line
            + 2
            + self.cfg.limit_request_fields * (self.cfg.limit_request_field_size + 2)
            + 4
        )
        self._timers: list[tuple[float, int, BufferedConn]] = []
        self._timer_seq = 0
        self._drain_until: float | None = None
        self._listening = True
        # with SO_REUSEPORT each worker listens on a socket of its own; without it every worker
        # and the master share one, which must keep taking connections while any of them runs
        self._private_listeners = bool(self.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT"))

    # --- signals ------------------------------------------------------------------------------

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: stop now when the master is stopping, else drain first (see module)."""
        if not self.alive:
            return
        if self.readiness.stopping or self.drain_seconds <= 0 or self._drain_until is not None:
            self.alive = False
        else:
            self._drain_until = time.monotonic() + self.drain_seconds
            self.readiness.drain_this_process()
        self.method_queue.defer(lambda: None)  # wake the event loop

    # --- the event loop -----------------------------------------------------------------------

    def run(self) -> None:
        self.poller.register(
            self.method_queue.fileno(), selectors.EVENT_READ, self.method_queue.run_callbacks
        )
        for listener in self.sockets:
            # inherited by every accepted socket: a response the client does not read for
            # body_timeout seconds is abandoned instead of holding a scoring thread
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self.body_timeout))
        self.set_accept_enabled(True)
        announced = False
        while self.alive:
            self.notify()
            can_accept = self.nr_conns < self.worker_connections
            if can_accept != self._accepting:
                self.set_accept_enabled(can_accept)
            self.wait_for_and_dispatch_events(timeout=self._next_wakeup())
            if not self.is_parent_alive():
                break
            self._expire()
            if self._drain_until is not None:
                if not announced:
                    announced = True
                    self.log.info(
                        "SIGTERM: this worker's /ready now answers 503; serving "
                        "%.1f s more, then stopping gracefully",
                        self.drain_seconds,
                    )
                if time.monotonic() >= self._drain_until and not self._await_master():
                    self.alive = False
        self._stop_gracefully()

    def _await_master(self) -> bool:
        """After this worker's own drain: wait for the master's SIGTERM instead of stopping?

        With listeners shared with the master, the master got SIGTERM too (it is draining) and
        will signal the workers when its drain is over: a worker leaving before that would
        leave connections queued on the master's copy of the socket, to be reset when the
        master closes it. (A worker signalled alone leaves at once: its siblings accept.)
        """
        assert self._drain_until is not None
        return (
            not self._private_listeners
            and self.readiness.server_draining
            and time.monotonic() < self._drain_until + self.cfg.graceful_timeout
        )

    def _stop_gracefully(self) -> None:
        # a shared socket refuses new handshakes only when the whole server stops: a worker
        # restarting alone (max_requests, a lone SIGTERM) leaves it to its siblings
        refuse = self._private_listeners or self.readiness.stopping
        for listener in self.sockets if refuse else ():
            if not refuse_new_connections(listener):
                self.log.warning(
                    "cannot stop new connections on %s before closing it; "
                    "connections queued at the close may be reset",
                    listener,
                )
        self.set_accept_enabled(True)
        now = time.monotonic()
        stop_accepting = now + (ACCEPT_LINGER if refuse else 0.0)
        limit = now + self.cfg.graceful_timeout
        for _, _, conn in list(self._timers):
            if conn.state == _IDLE:
                self._set_deadline(conn, min(conn.deadline, now + STOP_KEEPALIVE_LINGER))
        while True:
            now = time.monotonic()
            if self._listening and now >= stop_accepting:
                self._close_listeners()
            if (not self._listening and self.nr_conns <= 0) or now > limit:
                break
            self.notify()
            wakeup = self._next_wakeup()
            if self._listening:
                wakeup = min(wakeup, max(stop_accepting - now, 0.0))
            self.wait_for_and_dispatch_events(timeout=wakeup)
            self._expire()
        if self._listening:
            self._close_listeners()
        for _, _, conn in list(self._timers):
            if conn.state in _ON_LOOP:
                self._close(conn)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()

    def _close_listeners(self) -> None:
        """Accept what the kernel has queued, then close the listeners."""
        for listener in self.sockets:
            self._accept_all(listener)
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()
        self._listening = False

    def _next_wakeup(self) -> float:
        if not self._timers:
            return 1.0
        return min(1.0, max(self._timers[0][0] - time.monotonic(), 0.0))

    def _set_deadline(self, conn: BufferedConn, deadline: float) -> None:
        self._timer_seq += 1
        conn.timer = self._timer_seq
        conn.deadline = deadline
        heapq.heappush(self._timers, (deadline, self._timer_seq, conn))
        if len(self._timers) > 4 * self.nr_conns + 64:
            # entries outdated by a later deadline would keep closed connections (and their
            # parsers) alive until their time, for the garbage collector to walk: drop them
            self._timers = [
                entry
                for entry in self._timers
                if entry[1] == entry[2].timer and entry[2].state in _ON_LOOP
            ]
            heapq.heapify(self._timers)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, seq, conn = heapq.heappop(self._timers)
            if seq != conn.timer or conn.state not in _ON_LOOP:
                continue  # a stale entry: the connection moved on
            if conn.state == _HEADERS and conn.buf:
                self._refuse(
                    conn,
                    408,
                    "Request Timeout",
                    "the request header block was not "
                    f"received within serving.header_timeout ({self.header_timeout:g} s)",
                )
            elif conn.state == _BODY:
                self._refuse(
                    conn,
                    408,
                    "Request Timeout",
                    "the request body was not received "
                    f"within serving.body_timeout ({self.body_timeout:g} s)",
                )
            else:
                self._close(conn)  # idle, never sent a byte, or done lingering

    # --- connections on the loop --------------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        self._accept_one(listener)

    def _accept_all(self, listener: socket.socket) -> None:
        while self._accept_one(listener):
            pass

    def _accept_one(self, listener: socket.socket) -> bool:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED, errno.EBADF):
                return err.errno == errno.ECONNABORTED
            raise
        self.nr_conns += 1
        framer = RequestFramer(self.max_header_bytes, self.max_body_bytes)
        conn = BufferedConn(self.cfg, client_sock, client_addr, listener.getsockname(), framer)
        conn.on_readable = partial(self._on_readable, conn)
        self._wait_for_request(conn, self.header_timeout)
        return True

    def _wait_for_request(self, conn: BufferedConn, idle_timeout: float) -> None:
        """Put a connection on the loop for its next request (none of it read yet)."""
        conn.state = _HEADERS if not conn.initialized else _IDLE
        conn.sock.setblocking(False)
        self._set_deadline(conn, time.monotonic() + idle_timeout)
        self.poller.register(conn.sock, selectors.EVENT_READ, conn.on_readable)

    def _on_readable(self, conn: BufferedConn, _sock: Any) -> None:
        """Readable: a pool thread reads what is there, without waiting, and serves the
        request if that completes it (one hand-off, as in gunicorn; the reads cost the event
        loop nothing, and a thread never waits for a client)."""
        self.poller.unregister(conn.sock)
        conn.read_from, conn.state = conn.state, _READING
        self.enqueue_req(conn)

    def _read_available(self, conn: BufferedConn) -> object | None:
        """In a pool thread: read until EAGAIN; ``None`` once a request is complete (it is then
        loaded for gunicorn's parser), else :data:`_MORE` or :data:`_GONE`."""
        framing: NeedMore | Refused | Complete | None = None
        while True:
            try:
                data = conn.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return _GONE
            if not data:
                return _GONE  # the client went away; nothing to answer
            conn.buf += data
            framing = conn.framer.scan(conn.buf)
            if not isinstance(framing, NeedMore):
                break
        if isinstance(framing, Complete):
            self._load(conn, framing)
            return None
        conn.framing = framing
        return _MORE

    def _after_read(self, conn: BufferedConn) -> None:
        """On the loop, after a read attempt that did not complete a request."""
        conn.state, framing = conn.read_from, conn.framing
        conn.framing = None
        self.poller.register(conn.sock, selectors.EVENT_READ, conn.on_readable)
        if isinstance(framing, Refused):
            self._refuse(conn, framing.status, framing.reason, framing.detail)
            return
        deadline = conn.deadline  # the heap may have dropped it while the thread read
        if isinstance(framing, NeedMore):
            if conn.state == _IDLE:  # a kept-alive connection's next request started
                conn.state = _HEADERS
                deadline = time.monotonic() + self.header_timeout
            if framing.in_body and conn.state == _HEADERS:
                conn.state = _BODY
                deadline = time.monotonic() + self.body_timeout
                if conn.framer.expects_continue and not conn.sent_continue:
                    conn.sent_continue = True
                    self._send_now(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        self._set_deadline(conn, deadline)

    def _advance(self, conn: BufferedConn) -> None:
        """Pipelined bytes after a response: hand the next request to a thread if they hold
        all of it, else keep reading it on the loop."""
        framing = conn.framer.scan(conn.buf)
        if isinstance(framing, NeedMore):
            if framing.in_body and conn.state == _HEADERS:
                conn.state = _BODY
                self._set_deadline(conn, time.monotonic() + self.body_timeout)
                if conn.framer.expects_continue and not conn.sent_continue:
                    conn.sent_continue = True
                    self._send_now(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if isinstance(framing, Refused):
            self._refuse(conn, framing.status, framing.reason, framing.detail)
            return
        assert isinstance(framing, Complete)
        self.poller.unregister(conn.sock)
        self._load(conn, framing)
        self.enqueue_req(conn)

    def _load(self, conn: BufferedConn, framing: Complete) -> None:
        """Give a complete request to gunicorn's parser (the connection leaves the loop)."""
        conn.state = _POOL
        conn.timer = 0
        conn.replay.load(bytes(conn.buf[: framing.end]))
        del conn.buf[: framing.end]
        conn.framer.reset()
        conn.sock.setblocking(True)

    def _send_now(self, conn: BufferedConn, data: bytes) -> None:
        try:
            conn.sock.send(data)
        except OSError:
            pass  # a full or broken socket: the close that follows says the rest

    def _refuse(self, conn: BufferedConn, status: int, reason: str, detail: str) -> None:
        from credit_glm.service.gunicorn_app import problem_response

        kind = {408: "request_timeout", 413: "payload_too_large"}.get(status, "http_protocol")
        self._send_now(conn, problem_response(status, reason, detail, kind))
        self.log.debug("%s %s from %s: %s", status, reason, conn.client, detail)
        self._linger_close(conn)

    def _linger_close(self, conn: BufferedConn) -> None:
        """Close after a response: FIN now, then read and discard until EOF or the linger."""
        if conn.state in _ON_LOOP:
            self.poller.unregister(conn.sock)
        conn.state = _LINGER
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn, registered=False)
            return
        conn.buf.clear()
        self._set_deadline(conn, time.monotonic() + CLOSE_LINGER)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger, conn))

    def _on_linger(self, conn: BufferedConn, _sock: Any) -> None:
        try:
            if conn.sock.recv(_RECV_SIZE):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._close(conn)

    def _close(self, conn: BufferedConn, registered: bool = True) -> None:
        if conn.state == _CLOSED:
            return
        if registered and conn.state in _ON_LOOP:
            self.poller.unregister(conn.sock)
        conn.state = _CLOSED
        conn.timer = 0
        conn.parser = None  # what a stale timer entry still holds: the connection alone
        self.nr_conns -= 1
        try:
            conn.sock.close()
        except OSError:
            pass

    # --- the pool threads ---------------------------------------------------------------------

    def handle(self, conn: BufferedConn) -> object:
        """Serve one buffered request (in a pool thread); whether to keep the connection.

        A connection that was readable is first read (:meth:`_read_available`); unless that
        completes its request, it goes back to the loop (:data:`_MORE`, :data:`_GONE`).
        """
        if conn.state == _READING:
            outcome = self._read_available(conn)
            if outcome is not None:
                return outcome
        req = None
        try:
            conn.init()
            req = next(conn.parser)
            if not req:
                return False
            if conn.sent_continue and hasattr(req, "_expected_100_continue"):
                req._expected_100_continue = False  # already sent from the event loop
            conn.client_closes = _client_closes(req)
            keep = self._keepalive_after(conn, self.handle_request(req, conn))
            # bytes gunicorn did not consume mean it framed the request differently: close
            return (
                bool(keep) and conn.replay.left() == 0 and not conn.parser.unreader.take_buffered()
            )
        except http.errors.NoMoreData as err:
            self.log.debug("Ignored premature client disconnection. %s", err)
        except StopIteration as err:
            self.log.debug("Closing connection. %s", err)
        except OSError as err:
            # EAGAIN: the client did not read its response within body_timeout
            self.log.debug("Connection dropped while answering: %s", err)
        except Exception as err:
            self.handle_error(req, conn.sock, conn.client, err)
        return False

    def finish_request(self, conn: BufferedConn, fs: Any) -> None:
        """Back on the event loop after a request: keep the connection alive or close it."""
        try:
            result = False if fs.cancelled() else fs.result()
        except Exception:
            result = False
        if result is _MORE:
            self._after_read(conn)
            return
        if result is _GONE:
            self._close(conn)
            return
        conn.sent_continue = False
        keep = bool(result)
        if not keep:
            if conn.client_closes and not conn.buf:
                self._close(conn)  # it sends nothing more: no unread bytes can turn into a reset
            else:
                self._linger_close(conn)
            return
        idle = float(self.cfg.keepalive)
        if not self.alive:
            idle = min(idle, STOP_KEEPALIVE_LINGER)
        if conn.buf:  # pipelined bytes: the next request has started
            conn.state = _HEADERS
            conn.sock.setblocking(False)
            self._set_deadline(conn, time.monotonic() + self.header_timeout)
            self.poller.register(conn.sock, selectors.EVENT_READ, conn.on_readable)
            self._advance(conn)
        else:
            self._wait_for_request(conn, idle)


def _client_closes(req: Any) -> bool:
    """Whether the client announced it sends nothing after this request (RFC 9112 9.3)."""
    for name, value in req.headers:
        if name == "CONNECTION":
            return bool(value.strip().lower() == "close")
    return bool(req.version <= (1, 0))


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def worker_class_path() -> str:
    """The ``worker_class`` gunicorn is given; ``CREDIT_GLM_STOCK_WORKER=1`` (benchmarks and
    tests that compare with it, never a deployment) selects gunicorn's own gthread worker."""
    if os.environ.get("CREDIT_GLM_STOCK_WORKER") == "1":
        return "gthread"
    return f"{__name__}.BufferingWorker"

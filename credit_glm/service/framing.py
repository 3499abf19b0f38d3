"""Where an HTTP/1.1 request ends in a byte buffer, without parsing more than its framing.

The buffering worker (:mod:`credit_glm.service.worker`) reads every connection into a buffer on
its event loop and hands a request to a scoring thread only once it is complete. This module
answers the one question that needs: given the bytes received so far, is a whole request there
(and where does it end), must more be read, or is the request refused before it is complete
(a body over ``serving.max_body_bytes``, a header block over gunicorn's limits)?

It reads only the framing (RFC 9112 sections 2.2, 6 and 7.1): the end of the header block,
``Content-Length``, ``Transfer-Encoding: chunked`` and the chunk sizes, and ``Expect``.
Everything else, including every malformed message, is left to gunicorn's own parser: framing
it cannot make sense of ends the request at the header block (or at the malformed chunk
line), and gunicorn then answers it with its 400, exactly as without this worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["Complete", "Framing", "NeedMore", "Refused", "RequestFramer"]

_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
# a chunk-size line (size and extensions); gunicorn refuses longer ones too
_MAX_CHUNK_LINE: Final = 1024
# wire bytes a chunked body may take beyond twice its decoded size limit
_MAX_CHUNK_OVERHEAD: Final = 65536


@dataclass(frozen=True)
class NeedMore:
    """More bytes are needed; ``in_body`` once the header block is complete."""

    in_body: bool


@dataclass(frozen=True)
class Complete:
    """A request ends at ``end`` (exclusive); the bytes after it belong to the next one."""

    end: int


@dataclass(frozen=True)
class Refused:
    """The request is answered with ``status`` before it is complete."""

    status: int
    reason: str
    detail: str


Framing = NeedMore | Complete | Refused


class RequestFramer:
    """Incremental framing of one request at the start of a growing buffer.

    Parameters
    ----------
    max_header_bytes
        The largest header block (request line and fields) accepted; more is a 431.
    max_body_bytes
        The largest body (its decoded size, for a chunked one); more is a 413.

    Call :meth:`scan` with the whole buffer each time bytes were added, until it returns
    :class:`Complete` or :class:`Refused`; then :meth:`reset` for the next request. The framer
    remembers how far it got, so each byte is examined about once.
    """

    def __init__(self, max_header_bytes: int, max_body_bytes: int) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.reset()

    def reset(self) -> None:
        self.header_end: int | None = None
        self.expects_continue = False
        self._searched = 0
        self._length: int | None = None  # Content-Length framing: bytes of body
        self._chunked = False
        self._pos = 0  # chunked: where the next chunk-size line starts
        self._body = 0  # chunked: decoded bytes so far
        self._in_trailers = False

    def scan(self, buf: bytes | bytearray) -> Framing:
        if self.header_end is None:
            found = self._find_header_end(buf)
            if isinstance(found, Refused | NeedMore):
                return found
            self.header_end = found
            early = self._read_framing(bytes(buf[:found]))
            if early is not None:
                return early
        if self._chunked:
            return self._scan_chunks(buf)
        end = self.header_end + (self._length or 0)
        return Complete(end) if len(buf) >= end else NeedMore(in_body=True)

    def _find_header_end(self, buf: bytes | bytearray) -> int | Refused | NeedMore:
        start = max(0, self._searched - 3)
        crlf = buf.find(b"\r\n\r\n", start)
        bare = buf.find(b"\n\n", start)  # a bare-LF message: gunicorn refuses it with a 400
        ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (bare,) if i >= 0]
        if ends:
            end = min(ends)
            if end > self.max_header_bytes:
                return _headers_too_large(self.max_header_bytes)
            return end
        self._searched = len(buf)
        if len(buf) > self.max_header_bytes:
            return _headers_too_large(self.max_header_bytes)
        return NeedMore(in_body=False)

    def _read_framing(self, head: bytes) -> Framing | None:
        """Set the body framing from the header block; a result when it decides already."""
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for line in head.split(b"\n")[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                continue
            key = name.strip().lower()
            if key == b"content-length":
                lengths.append(value.strip())
            elif key == b"transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(b","))
            elif key == b"expect" and value.strip().lower() == b"100-continue":
                self.expects_continue = b"HTTP/1.0" not in head[: head.find(b"\n")]
        assert self.header_end is not None
        if codings:
            if codings[-1] == b"chunked" and codings.count(b"chunked") == 1 and not lengths:
                self._chunked = True
                self._pos = self.header_end
                return None
            return Complete(self.header_end)  # gunicorn refuses this framing (400)
        if not lengths:
            return Complete(self.header_end)
        if len(lengths) > 1 or not lengths[0].isdigit():
            return Complete(self.header_end)  # gunicorn refuses it (400)
        self._length = int(lengths[0])
        if self._length > self.max_body_bytes:
            return _body_too_large(self.max_body_bytes)
        return None

    def _scan_chunks(self, buf: bytes | bytearray) -> Framing:
        assert self.header_end is not None
        if len(buf) - self.header_end > 2 * self.max_body_bytes + _MAX_CHUNK_OVERHEAD:
            # tiny chunks with long extensions: bound the bytes held, not only the decoded size
            return _body_too_large(self.max_body_bytes)
        while True:
            if self._in_trailers:
                if buf[self._pos : self._pos + 2] == b"\r\n":
                    return Complete(self._pos + 2)
                idx = buf.find(b"\r\n\r\n", self._pos)
                if idx >= 0:
                    return Complete(idx + 4)
                if len(buf) - self._pos > self.max_header_bytes:
                    return _headers_too_large(self.max_header_bytes)
                return NeedMore(in_body=True)
            eol = buf.find(b"\r\n", self._pos, self._pos + _MAX_CHUNK_LINE)
            if eol < 0:
                if len(buf) - self._pos >= _MAX_CHUNK_LINE:
                    return Complete(len(buf))  # gunicorn refuses the line (400)
                return NeedMore(in_body=True)
            size_text = bytes(buf[self._pos : eol]).split(b";", 1)[0].strip(b" \t")
            if not size_text or not _HEX.issuperset(size_text):
                return Complete(eol + 2)  # gunicorn refuses the chunk size (400)
            size = int(size_text, 16)
            if size == 0:
                self._in_trailers = True
                self._pos = eol + 2
                continue
            self._body += size
            if self._body > self.max_body_bytes:
                return _body_too_large(self.max_body_bytes)
            data_end = eol + 2 + size + 2
            if len(buf) < data_end:
                return NeedMore(in_body=True)
            self._pos = data_end


def _headers_too_large(limit: int) -> Refused:
    return Refused(
        431, "Request Header Fields Too Large", f"the request header block is over {limit} bytes"
    )


def _body_too_large(limit: int) -> Refused:
    return Refused(
        413, "Content Too Large", f"the body is over serving.max_body_bytes ({limit} bytes)"
    )

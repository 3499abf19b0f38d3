"""Where a request ends in a buffer (the buffering worker's framing), fed byte by byte too."""

from __future__ import annotations

import pytest

from credit_glm.service.framing import Complete, NeedMore, Refused, RequestFramer

HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
BODY = b'{"features": {"a": 1}}'


def _framer() -> RequestFramer:
    return RequestFramer(max_header_bytes=4096, max_body_bytes=1024)


def _feed(message: bytes) -> list[object]:
    """Every result while ``message`` arrives one byte at a time, until the framer decides."""
    framer, buf, results = _framer(), bytearray(), []
    for byte in message:
        buf.append(byte)
        result = framer.scan(buf)
        results.append(result)
        if not isinstance(result, NeedMore):
            break
    return results


def _chunked(*pieces: bytes, trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n" + trailer + b"\r\n"


@pytest.mark.parametrize(
    "message",
    [
        HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        _chunked(BODY[:5], BODY[5:]),
        _chunked(BODY, trailer=b"X-Checksum: 1\r\n"),
        HEAD + b"Expect: 100-continue\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["content-length", "no-body", "chunked", "chunked-trailer", "empty-body"],
)
def test_a_request_ends_exactly_where_it_ends(message: bytes) -> None:
    results = _feed(message + b"GET /next HTTP/1.1\r\n")  # pipelined bytes follow
    assert results[-1] == Complete(len(message))
    assert all(isinstance(r, NeedMore) for r in results[:-1])


def test_the_body_phase_starts_at_the_end_of_the_header_block() -> None:
    head = HEAD + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    framer = _framer()
    assert framer.scan(head[:-1]) == NeedMore(in_body=False)
    assert framer.scan(head) == NeedMore(in_body=True)
    assert framer.expects_continue
    assert framer.scan(head + BODY) == Complete(len(head) + len(BODY))
    framer.reset()
    assert not framer.expects_continue and framer.header_end is None


@pytest.mark.parametrize(
    ("message", "status"),
    [
        (HEAD + b"Content-Length: 1025\r\n\r\n", 413),
        (_chunked(b"a" * 600, b"b" * 600), 413),
        (HEAD + b"X-Big: " + b"a" * 5000, 431),
    ],
    ids=["content-length-over", "chunked-over", "headers-over"],
)
def test_over_a_limit_is_refused_before_the_rest_is_read(message: bytes, status: int) -> None:
    result = _feed(message)[-1]
    assert isinstance(result, Refused) and result.status == status


@pytest.mark.parametrize(
    "message",
    [
        HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
        HEAD + b"Content-Length: -5\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
    ],
    ids=["two-lengths", "negative-length", "te-and-cl", "te-not-chunked", "bare-lf"],
)
def test_framing_gunicorn_refuses_ends_at_the_header_block(message: bytes) -> None:
    """gunicorn's parser answers these with its 400: the framer hands over the header block
    and waits for nothing more."""
    assert _feed(message + b"more")[-1] == Complete(len(message))


def test_an_invalid_chunk_size_ends_the_request_at_its_line() -> None:
    message = HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
    assert _feed(message + b"more")[-1] == Complete(len(message))

"""The request-body parser: its fast path (msgspec) reads every body as the standard module does.

:func:`credit_glm.service.body.parse_json` keeps the fast decoder's value only when it can prove
it equal to :func:`~credit_glm.service.body.exact_json`'s; these tests compare the two on bodies
built to hit each way they could differ (repeated keys, huge integers, non-finite numbers,
escapes, deep nesting, object counts, malformed text) and on random ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_glm.service.body import exact_json, parse_json
from credit_glm.service.problems import Problem


def outcome(parse: Any, raw: bytes, max_objects: int | None) -> tuple[str, str]:
    """What a parser makes of ``raw``: the value's repr (types and signs included), or the
    problem's kind and detail."""
    try:
        return "value", repr(parse(raw, max_objects))
    except Problem as problem:
        return problem.kind, problem.detail


def same(raw: bytes, max_objects: int | None = None) -> None:
    assert outcome(parse_json, raw, max_objects) == outcome(exact_json, raw, max_objects)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"a": 1, "b": {"c": 1, "c": 1}}',
        '{"a": "x:y", "a": "z"}',
        '{"a": 1, "a": 2, "b": "\\u003a"}',  # an escaped colon must not hide the repeat
        '{"a": 1, "a": 2, "b": "\\u003A"}',
        '{"a": 1, "b": "\\u00e9:\\n"}',
        '{"n": 18446744073709551616, "m": -9223372036854775809}',
        '{"n": 123456789012345678901234567890}',
        "[1e400, -1e400, 1.5e-400, -0, -0.0, 1E5, 0.1]",
        '{"x": NaN}',
        '{"x": Infinity, "y": -Infinity}',
        '"\\ud800"',
        "\ufeff[1]",
        "",
        " ",
        "[1,]",
        "01",
        "[1] x",
        '{"a" 1}',
        '{"a": 1,}',
        '"\x1f"',
        "\t[1]\r\n",
        "\x0c[1]",
    ],
)
def test_bodies_that_could_read_differently_read_the_same(text: str) -> None:
    same(text.encode("utf-8"))


@pytest.mark.parametrize("raw", [b'"\xed\xa0\x80"', b'"\xff"', b'{"a": "\xc3"}'])
def test_bytes_that_are_not_utf8_read_the_same(raw: bytes) -> None:
    same(raw)


@pytest.mark.parametrize("depth", [10, 254, 255, 300, 980, 1000, 2000])
def test_deep_nesting_reads_the_same(depth: int) -> None:
    same(b"[" * depth + b"]" * depth)
    same(b'{"a":' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize("objects", [0, 1, 3, 4, 10])
def test_the_object_bound_reads_the_same(objects: int) -> None:
    raw = json.dumps({"a": [{}] * objects}).encode()
    for bound in (None, 0, 1, objects, objects + 1, 4):
        same(raw, bound)


def test_a_large_body_counts_like_a_small_one() -> None:
    # past the size where the bytes are counted with numpy
    rows = [{"k": f"v:{i}", "n": i, "x": i / 7} for i in range(3000)]
    raw = json.dumps({"instances": rows}).encode()
    assert len(raw) > 65536
    same(raw, 3001)
    same(raw, 3000)
    twice = raw[:-2] + b', "instances": []}'
    same(twice, 5000)
    shadowed = raw[:-3] + b', "k": "v:2999"}]}'
    same(shadowed, 5000)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(alphabet=st.sampled_from('ab:"\\\u00e9\u2028{}[] \n\x00\ud800'), max_size=6)
)
_keys = st.text(alphabet=st.sampled_from("ab:\u00e9\\"), max_size=3)


def _encode(value: Any, ascii_only: bool) -> str:
    # objects are lists of pairs, so a key can repeat
    if isinstance(value, tuple):
        inner = ", ".join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}: {_encode(v, ascii_only)}" for k, v in value
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(st.tuples(_keys, inner), max_size=4).map(tuple)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(
    value=_values,
    ascii_only=st.booleans(),
    bound=st.none() | st.integers(0, 6),
)
def test_random_bodies_read_the_same(value: Any, ascii_only: bool, bound: int | None) -> None:
    text = _encode(value, ascii_only)
    same(text.encode("utf-8", "surrogatepass"), bound)


@settings(max_examples=400, deadline=None)
@given(
    value=_values,
    position=st.integers(0, 10_000),
    byte=st.binary(min_size=0, max_size=2),
    drop=st.integers(0, 2),
)
def test_damaged_bodies_read_the_same(value: Any, position: int, byte: bytes, drop: int) -> None:
    raw = _encode(value, True).encode("utf-8", "surrogatepass")
    at = position % (len(raw) + 1)
    same(raw[:at] + byte + raw[at + drop :])


def test_a_plain_body_takes_the_fast_path() -> None:
    # the speed of the service's parsing rests on this (tests/benchmarks/bench_service.py)
    from credit_glm.service import body

    row = {"status": "0 <= ... < 200 DM", "purpose": "car (new)", "months": 12, "rate": 2.5}
    for raw in (
        json.dumps({"features": row}).encode(),
        json.dumps({"instances": [row] * 1000}).encode(),
        json.dumps({"features": {**row, "name": "caf\u00e9"}}).encode(),  # escaped, no colon
    ):
        assert body._fast_value(raw, 1001) == json.loads(raw)


@settings(max_examples=300, deadline=None)
@given(
    sign=st.sampled_from(["", "-"]),
    whole=st.from_regex(r"\A(0|[1-9][0-9]{0,25})\Z"),
    fraction=st.from_regex(r"\A[0-9]{0,30}\Z"),
    exponent=st.none() | st.integers(-350, 350),
)
def test_number_literals_read_the_same(
    sign: str, whole: str, fraction: str, exponent: int | None
) -> None:
    # long decimal expansions and extreme exponents: both parsers round correctly or defer
    text = sign + whole + (f".{fraction}" if fraction else "")
    if exponent is not None:
        text += f"e{exponent}"
    same(f'{{"x": [{text}]}}'.encode())

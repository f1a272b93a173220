"""gateway/validation.py on its own: the depth scan, the JSON rules, the integer forms, file names."""

from __future__ import annotations

import time

import pytest

from gateway.validation import (MAX_JSON_BODY, BodyRefused, _integer, canonical_json, content_disposition, json_depth,
                                parse_json)


@pytest.mark.parametrize("body, depth", [
    (b"", 0), (b"1", 0), (b"[]", 1), (b'{"a":{"b":[]}}', 3), (b"[[[", 3), (b"]]][", 0),
    (b'["[[[[{{{{"]', 1),                      # brackets in a string do not count
    (b'["\\"[[[[",1]', 1),                      # nor after an escaped quote
    (b'["\\\\",[[1]]]', 3),                     # an escaped backslash ends nothing: the quote after it closes
    (b'["\\\\\\"[[",[1]]', 2),                 # three backslashes and a quote: still inside the string
    (b"[" * 100_000 + b"]" * 100_000, 100_000),
])
def test_the_depth_counts_brackets_outside_strings(body, depth):
    assert json_depth(body) == depth


def test_the_depth_scan_is_linear_and_costs_about_the_same_for_any_bytes():
    """No Python loop per byte: a body of brackets or quotes is checked about as fast as one of
    letters (a per-byte loop took 0.3-0.9 s for 256 KiB on this machine)."""
    worst = 0.0
    for body in (b"[]" * (MAX_JSON_BODY // 2), b'"a",' * (MAX_JSON_BODY // 4), b"[" * MAX_JSON_BODY,
                 b'"' + b'\\"' * (MAX_JSON_BODY // 2) + b'"', b"a" * MAX_JSON_BODY):
        started = time.perf_counter()
        json_depth(body)
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.25, worst


@pytest.mark.parametrize("body, status, error", [
    (b"[" * 33 + b"]" * 33, 400, "BodyTooDeep"),
    (b'{"a":1,"a":2}', 422, "DuplicateKey"),
    (b'[{"a":1},{"b":{"c":1,"c":1}}]', 422, "DuplicateKey"),
    (b"NaN", 400, "BadRequest"), (b"[Infinity]", 400, "BadRequest"), (b"[-Infinity]", 400, "BadRequest"),
    (b"1" * 101, 422, "InvalidInput"), (b"-" + b"1" * 101, 422, "InvalidInput"),
    (b'"\xff"', 400, "BadRequest"), (b'"\\ud800"', 400, "BadRequest"), (b'{"\\udfff":1}', 400, "BadRequest"),
    (b"{", 400, "BadRequest"),
])
def test_json_bodies_are_refused_for_what_no_schema_can_see(body, status, error):
    with pytest.raises(BodyRefused) as refused:
        parse_json(body)
    assert (refused.value.status, refused.value.error) == (status, error)


def test_json_within_the_rules_parses():
    assert parse_json(b"[" * 32 + b"]" * 32) is not None
    assert parse_json('{"name":"发票 \\ud83d\\ude00","v":' .encode() + b"9" * 100 + b"}")["v"] == int("9" * 100)


def test_the_canonical_form_ignores_key_order_and_spacing_only():
    assert canonical_json(b'{"b": 1, "a": {"d": "x", "c": [2, 1]}}') == canonical_json(
        b'{"a":{"c":[2,1],"d":"x"},"b":1}')
    assert canonical_json(b'{"a":"1"}') != canonical_json(b'{"a":1}')
    assert canonical_json(b'{"a":[1,2]}') != canonical_json(b'{"a":[2,1]}')


@pytest.mark.parametrize("value, expected", [(7, 7), ("7", 7), ("0", 0), (0, 0), (str(2**256), 2**256)])
def test_integers_are_json_integers_or_canonical_decimal_strings(value, expected):
    assert _integer(value) == expected


@pytest.mark.parametrize("value", [True, False, 1.0, " 7", "7 ", "1_000", "+7", "-7", "07", "0x7", "1e3", "", "٣",
                                   None, [7]])
def test_nothing_else_is_an_integer(value):
    with pytest.raises(ValueError):
        _integer(value)


@pytest.mark.parametrize("name, header", [
    ("发票-№5.pdf", "attachment; filename=\"__-_5.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8-%E2%84%965.pdf"),
    ("отчёт.txt", "attachment; filename=\"_____.txt\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt"),
    ('a"b\\c.pdf', "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"),
    ("发票", "attachment; filename=\"document\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8"),
])
def test_content_disposition_follows_rfc_6266_with_an_ascii_fallback(name, header):
    value = content_disposition(name, "document")
    assert value == header
    value.encode("latin-1")  # what Starlette must be able to send

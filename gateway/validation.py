"""Everything a client sends passes through here: request bodies as bytes, numbers, addresses,
texts and files. One module, so one rule per kind of input, and a route cannot forget one.

Bodies (`BodyGuard`, a pure ASGI middleware that runs before routing, authentication and any
JSON parsing):

* A JSON body (``application/json``, ``application/*+json``, or no Content-Type, which FastAPI
  may also parse as JSON) is at most `MAX_JSON_BODY` (256 KiB) bytes, UTF-8, nested at most `MAX_JSON_DEPTH`
  arrays/objects deep (counted by a linear scan of the bytes, no recursion, before anything
  parses it), without a key twice in one object, without NaN/Infinity and without integers of
  more than `MAX_JSON_DIGITS` digits. A ``multipart/form-data`` body (uploads) is at most
  `MAX_UPLOAD_BODY` bytes. Any other body that is not empty is 415. Refusals are in the API's
  error shape: 413 `BodyTooLarge`, 400 `BodyTooDeep`, 400 `BadRequest` (not UTF-8, not JSON),
  422 `DuplicateKey`, 415 `UnsupportedMediaType`.

Values (Annotated types the schemas and the routes' path and query parameters use):

* `Amount`: a JSON integer or a string of decimal digits (no sign, space, underscore, exponent,
  fraction or leading zero; ``true`` and ``1.0`` are not amounts), 1 to 2^96 - 1 (the contracts
  store amounts as uint96). `Allowance`: the same, 0 to 2^256 - 1.
* `Id`, `Timestamp`, `Bps`, `Seconds`, `Offset`, `Limit`, `Block`: integers the same way (a path's
  ``1.0`` or ``%201`` is 422, not voucher 1).
* `Address`: 0x and 40 hex digits, all lower case, all upper case or with a valid EIP-55
  checksum, never the zero address (`AddressOrZero` where zero means "none", e.g. withdrawing an
  approval); answered checksummed.
* `Hash32`: 0x and 64 hex digits, not all zero.
* `Text` (`Name`, `Uri`): no control characters (C0, DEL, C1), line or paragraph separators or
  lone surrogates: what the databases, the chain and HTTP headers cannot all carry faithfully.
* Files: `read_upload` (size, emptiness, file name and media type as `Text`).
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

import anyio.to_thread
from eth_utils import is_checksum_address, to_checksum_address
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UINT256 = 2**256
UINT96 = 2**96
ID_LIMIT = 2**48
TIMESTAMP_LIMIT = 2**40

#: The largest JSON body: the largest request (a self-signed transaction of 200,000 hex digits)
#: with room to spare. Checking it costs a pass in Python over its brackets and quotes, so the
#: bound is also what one request may cost before it is refused.
MAX_JSON_BODY = 256 * 1024
#: JSON bodies larger than this are checked on a worker thread: the event loop keeps serving.
INLINE_CHECK = 16 * 1024
#: The deepest JSON nesting accepted. The deepest request body is 2 (a list of role objects).
MAX_JSON_DEPTH = 32
#: The longest integer literal in a JSON body (uint256 has 78 digits).
MAX_JSON_DIGITS = 100
#: The largest upload: a document or report of 20 MiB plus room for the form around it.
MAX_FILE = 20 * 1024 * 1024
MAX_UPLOAD_BODY = MAX_FILE + 64 * 1024


# -- bodies --------------------------------------------------------------------------------------


class BodyRefused(Exception):
    """A body the guard refuses: its status, error name and message (the API's error shape)."""

    def __init__(self, status: int, error: str, detail: str, **args: Any):
        super().__init__(detail)
        self.status, self.error, self.detail, self.args_ = status, error, detail, args

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **{k: str(v) for k, v in self.args_.items()}}


#: Bytes to ±1: an opening bracket up one level, a closing one down (as signed chars), the rest deleted.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """How deep `data` nests arrays and objects: [ and { counted outside strings, linear in its
    length and without recursion, in C-speed byte operations (no Python loop per byte, so a body
    of brackets costs little more than one of letters).

    Escaped backslashes, then escaped quotes, are removed (left to right, so a quote after an odd
    run of backslashes is the escaped one); what lies between the remaining quotes is string
    content and is dropped; the brackets left become +1/-1 steps, and the depth is the highest
    running sum (an unclosed bracket counts: the scanner would descend into it; after an unmatched
    closing bracket it counts lower, but the scanner stops there with an error)."""
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    steps = outside.translate(_STEPS, _NOT_BRACKETS)
    return max(0, max(itertools.accumulate(memoryview(steps).cast("b")), default=0))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BodyRefused(422, "DuplicateKey", f"the key {key!r} appears twice in one JSON object", key=key)
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise BodyRefused(400, "BadRequest", f"{name} is not a JSON number")


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_JSON_DIGITS:
        raise BodyRefused(422, "InvalidInput", f"an integer of more than {MAX_JSON_DIGITS} digits",
                          digits=len(literal.lstrip("-")))
    return int(literal)


def parse_json(data: bytes) -> Any:
    """`data` as JSON under the rules above (depth checked before parsing), or BodyRefused."""
    if json_depth(data) > MAX_JSON_DEPTH:  # before any parser sees it
        raise BodyRefused(400, "BodyTooDeep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                          limit=MAX_JSON_DEPTH)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(400, "BadRequest", "the body is not UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant,
                           parse_int=_bounded_int)
    except BodyRefused:
        raise
    except (ValueError, RecursionError) as error:
        raise BodyRefused(400, "BadRequest", f"the body is not JSON: {error}") from None
    if "\\" in text:  # only an escape (\ud800) can make a lone surrogate, which no UTF-8 can carry back
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyRefused(400, "BadRequest", "the body has an unpaired UTF-16 surrogate escape") from None
    return value


def canonical_json(data: bytes) -> bytes:
    """A JSON body in one form whatever its key order and spacing (for the Idempotency-Key's
    request hash); `data` itself if it is not JSON (the guard refused it already)."""
    if not data.strip():
        return b""
    try:
        value = parse_json(data)
    except BodyRefused:
        return data
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _kind(headers: list[tuple[bytes, bytes]]) -> tuple[str, int | None]:
    """The body's kind (json, multipart, other) from Content-Type, and its declared length."""
    content_type, length = None, None
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = -1
    if content_type is None:
        return "json", length
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return "json", length
    if media == "multipart/form-data":
        return "multipart", length
    return "other", length


class BodyGuard:
    """Bound and check every request body before the app sees it (see the module docstring).

    The body is read here (up to its limit) and handed on unchanged; a refusal answers at once,
    before routing, authentication or any parsing that could crash or cost."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except BodyRefused as refused:
            await _answer(send, refused)
            return
        if body is None:  # no body at all
            await self.app(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        kind, length = _kind(scope.get("headers") or [])
        limit = MAX_UPLOAD_BODY if kind == "multipart" else MAX_JSON_BODY
        if length is not None and length > limit:
            raise BodyRefused(413, "BodyTooLarge", f"the body is too large: more than {limit} bytes", limit=limit)
        if length == 0 or (length is None and scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS")
                           and not _chunked(scope)):
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BodyRefused(400, "BadRequest", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyRefused(413, "BodyTooLarge", f"the body is too large: more than {limit} bytes", limit=limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not body.strip():
            return body
        if kind == "other":
            raise BodyRefused(415, "UnsupportedMediaType",
                              "send JSON (application/json), or multipart/form-data to upload a file")
        if kind == "json":
            if len(body) > INLINE_CHECK:
                await anyio.to_thread.run_sync(parse_json, body)
            else:
                parse_json(body)
        return body


def _chunked(scope: Scope) -> bool:
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers") or [])


async def _answer(send: Send, refused: BodyRefused) -> None:
    payload = json.dumps(refused.body()).encode()
    await send({"type": "http.response.start", "status": refused.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


# -- numbers -------------------------------------------------------------------------------------

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")


def _integer(value: Any) -> int:
    """A JSON integer, or a canonical decimal string (paths and queries arrive as strings)."""
    if isinstance(value, bool):
        raise ValueError("not an integer (true/false)")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    raise ValueError("an integer is a JSON number without fraction or exponent, or a string of decimal "
                     "digits without sign, spaces, underscores or leading zeros")


def _integer_schema(low: int, high: int, example: Any, description: str) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [{"type": "integer", "minimum": low, "maximum": high},
                                     {"type": "string", "pattern": r"^(0|[1-9][0-9]*)$"}],
                           "description": description, "examples": [example]})


def integer(low: int, high: int, example: Any, description: str = "") -> Any:
    """An Annotated integer from `low` to `high` inclusive, taken as `_integer` takes it."""
    return Annotated[int, BeforeValidator(_integer), Field(ge=low, le=high),
                     _integer_schema(low, high, example, description)]


Amount = integer(1, UINT96 - 1, "40000", "an amount in the currency's smallest unit: a JSON integer or a "
                                        "decimal string, at most 2^96 - 1")
Allowance = integer(0, UINT256 - 1, "25000", "an allowance: a JSON integer or a decimal string (0 withdraws it)")
Id = integer(1, ID_LIMIT - 1, 1, "an id (48-bit)")
Timestamp = integer(1, TIMESTAMP_LIMIT - 1, 1767225600, "unix seconds")
Seconds = integer(0, TIMESTAMP_LIMIT - 1, 604800, "seconds")
Bps = integer(1, 10_000, 500, "basis points")
BpsOrZero = integer(0, 10_000, 5000, "basis points")
Offset = integer(0, 2**63 - 1, 0, "rows to skip")
Limit = integer(1, 500, 50, "rows at most")
Block = integer(0, 2**63 - 1, 1, "a block number")


# -- addresses and hashes ------------------------------------------------------------------------

ZERO_ADDRESS = "0x" + "0" * 40
_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _any_address(value: Any) -> str:
    if not isinstance(value, str) or not _HEX_ADDRESS.fullmatch(value):
        raise ValueError("not an address (0x and 40 hex digits)")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise ValueError("mixed-case address with a wrong EIP-55 checksum (mistyped?)")
    return to_checksum_address(value)


def _address(value: Any) -> str:
    checked = _any_address(value)
    if int(checked, 16) == 0:
        raise ValueError("the zero address is nobody")
    return checked


_ADDRESS_EXAMPLE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
Address = Annotated[str, BeforeValidator(_address), Field(examples=[_ADDRESS_EXAMPLE])]
AddressOrZero = Annotated[str, BeforeValidator(_any_address), Field(examples=[_ADDRESS_EXAMPLE])]


def _hash32(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a 32-byte hash (0x and 64 hex digits)")
    body = value[2:] if value.startswith(("0x", "0X")) else ""
    if len(body) != 64 or not re.fullmatch(r"[0-9a-fA-F]{64}", body):
        raise ValueError("not a 32-byte hash (0x and 64 hex digits)")
    if int(body, 16) == 0:
        raise ValueError("the zero hash fingerprints nothing")
    return "0x" + body.lower()


#: A signed transaction as 0x-hex, whole bytes (its signer and call are checked by the route).
SignedTransaction = Annotated[str, Field(pattern=r"^0x(?:[0-9a-fA-F]{2})+$", max_length=200_000)]

Hash32 = Annotated[str, BeforeValidator(_hash32), Field(
    examples=["0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])]


# -- texts ---------------------------------------------------------------------------------------

#: Unicode categories no stored text may contain: control characters (Cc: C0, DEL, C1), line and
#: paragraph separators (Zl, Zp) and lone surrogates (Cs, which UTF-8 cannot encode).
REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def check_text(value: str) -> str:
    """`value` if it has no character of REFUSED_CATEGORIES, else ValueError naming the first."""
    for i, c in enumerate(value):
        if unicodedata.category(c) in REFUSED_CATEGORIES:
            raise ValueError(f"control characters (NUL, line breaks, tabs, ...) are not allowed: "
                             f"U+{ord(c):04X} at {i}")
    return value


Text = Annotated[str, AfterValidator(check_text)]
Name = Annotated[str, AfterValidator(check_text), Field(min_length=1, max_length=200)]
Uri = Annotated[str, AfterValidator(check_text), Field(max_length=2048)]
IdempotencyKey = Annotated[str, AfterValidator(check_text), Field(min_length=1, max_length=200)]


# -- files ---------------------------------------------------------------------------------------

_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?")


def upload_text(value: str | None, what: str, default: str, limit: int = 255) -> str:
    """An uploaded file's name or media type as stored and sent back in headers: refused (422)
    with control characters (a media type also when it is not type/subtype or over `limit`
    characters); a name over `limit` characters is shortened, keeping its extension; `default`
    when absent."""
    from .errors import InvalidInput

    if not value:
        return default
    try:
        check_text(value)
    except ValueError as error:
        raise InvalidInput(f"the file's {what}: {error}", field=what) from None
    if what == "media type":
        if len(value) > limit or not _MEDIA_TYPE.fullmatch(value):
            raise InvalidInput("the file's media type is not type/subtype (at most 255 characters)", field=what)
        return value
    if len(value) > limit:  # a long name is shortened, keeping its extension
        stem, dot, extension = value.rpartition(".")
        keep = f"{dot}{extension}" if dot and stem and len(extension) < 16 else ""
        value = value[:limit - len(keep)] + keep
    return value


def read_upload(file, what: str, default_name: str) -> tuple[bytes, str, str]:
    """An uploaded file's content, name and media type, checked: at most MAX_FILE bytes, not
    empty, name and media type as `upload_text` takes them."""
    from .errors import InvalidInput

    name = upload_text(file.filename, "file name", default_name)
    media_type = upload_text(file.content_type, "media type", "application/octet-stream")
    content = file.file.read(MAX_FILE + 1)
    if len(content) > MAX_FILE:
        raise InvalidInput(f"the {what} is larger than 20 MiB", limit=MAX_FILE)
    if not content:
        raise InvalidInput(f"the {what} is empty")
    return content, name, media_type


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with `filename` as RFC 6266 says: an ASCII ``filename=`` (non-ASCII
    characters, quotes and backslashes replaced by ``_``; `fallback` if nothing readable is left)
    and ``filename*=UTF-8''`` with the name percent-encoded (RFC 5987/8187)."""
    from urllib.parse import quote

    ascii_name = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename)
    if not ascii_name.strip("_. "):
        ascii_name = fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"

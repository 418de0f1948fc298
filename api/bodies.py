"""Read upload bodies into memory, bounded, without ever spooling to disk.

Starlette's `UploadFile` writes parts above 1 MiB to a temporary file — plaintext customer content on
disk. Here the request stream is fed to python-multipart's streaming parser and the one `file` part is
collected in memory; reading stops (413) the moment a limit is crossed, so a client can not make us
buffer more than the limit whatever its Content-Length claims.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.errors import MalformedRequest
from customization_vault.errors import UnsupportedType
from customization_vault.intake.errors import UploadTooLarge

# python-multipart logs parse errors quoting the offending byte; its loggers stay silent for our parsers.
_QUIET = logging.getLogger("api.bodies.multipart")
_QUIET.disabled = True

# The OpenAPI request body of an upload read by `read_multipart_file`: one binary `file` part.
MULTIPART_FILE: dict[str, object] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }
    }
}

# Room for part headers, boundaries and small form fields around the file part.
FRAMING_ALLOWANCE = 64 * 1024
MAX_PARTS = 8


@dataclass(frozen=True, slots=True)
class FilePart:
    """The uploaded file: bytes in memory and the client's declared type (a claim, checked later)."""

    data: bytes = field(repr=False)
    declared_type: str | None
    filename: str | None = field(default=None, repr=False)  # the client's name for it (may be personal)

    def __repr__(self) -> str:  # customer content never reaches a repr or a log
        return f"FilePart(<{len(self.data)} bytes>, declared_type={self.declared_type!r})"


def media_essence(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_length(header: str | None, limit: int) -> None:
    """Refuse before reading when the client announces more than we would ever accept."""
    if header is None:
        return
    try:
        announced = int(header)
    except ValueError as exc:
        raise MalformedRequest("Content-Length is not a number") from exc
    if announced > limit:
        raise UploadTooLarge(f"the request body exceeds the upload limit of {limit} bytes")


async def read_bounded(stream: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, or UploadTooLarge as soon as it passes `limit` (the rest is never read)."""
    buf = bytearray()
    async for chunk in stream:
        if len(buf) + len(chunk) > limit:
            raise UploadTooLarge(f"the request body exceeds the upload limit of {limit} bytes")
        buf += chunk
    return bytes(buf)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # The decoder's message quotes the document: it is chained, never shown or logged.
        raise MalformedRequest("the body is not valid JSON") from exc
    except RecursionError:
        # Thousands of nested arrays or objects: the decoder gives up at the interpreter's depth.
        raise MalformedRequest("the JSON body is nested too deeply") from None


class _Collector:
    """python-multipart callbacks: keeps the `file` part's bytes and headers, discards other parts."""

    def __init__(self, file_limit: int) -> None:
        self.file_limit = file_limit
        self.parts = 0
        self.file: bytearray | None = None
        self.file_type: str | None = None
        self.file_name: str | None = None
        self.done = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._current_is_file = False
        self._file_seen = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedRequest(f"a multipart upload has at most {MAX_PARTS} parts")
        self._headers = {}
        self._current_is_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if options.get(b"name") == b"file":
            if self._file_seen:
                raise MalformedRequest("exactly one `file` part is allowed")
            self._file_seen = True
            self._current_is_file = True
            self.file = bytearray()
            declared = self._headers.get(b"content-type")
            self.file_type = declared.decode("latin-1") if declared is not None else None
            name = options.get(b"filename")
            self.file_name = name.decode("utf-8", "replace") if name is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._current_is_file or self.file is None:
            return  # other form fields are ignored; the total body is bounded by the parser's max_size
        if len(self.file) + (end - start) > self.file_limit:
            raise UploadTooLarge(f"the file exceeds the upload limit of {self.file_limit} bytes")
        self.file += data[start:end]

    def on_part_end(self) -> None:
        self._current_is_file = False

    def on_end(self) -> None:
        self.done = True


async def read_multipart_file(stream: AsyncIterator[bytes], content_type: str, file_limit: int) -> FilePart:
    """The `file` part of a multipart/form-data body, collected in memory under `file_limit`."""
    _essence, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedRequest("the multipart body has no boundary")
    collector = _Collector(file_limit)
    total_limit = file_limit + FRAMING_ALLOWANCE
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": collector.on_part_begin,
                "on_part_data": collector.on_part_data,
                "on_part_end": collector.on_part_end,
                "on_header_field": collector.on_header_field,
                "on_header_value": collector.on_header_value,
                "on_header_end": collector.on_header_end,
                "on_headers_finished": collector.on_headers_finished,
                "on_end": collector.on_end,
            },
        )
        parser.logger = _QUIET
        received = 0
        async for chunk in stream:
            received += len(chunk)
            if received > total_limit:
                raise UploadTooLarge(f"the request body exceeds the upload limit of {file_limit} bytes")
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:  # its message may quote body bytes: chained, never shown
        raise MalformedRequest("the multipart body is malformed") from exc
    if not collector.done:
        raise MalformedRequest("the multipart body is truncated")
    if collector.file is None:
        raise MalformedRequest("the multipart body has no `file` part")
    return FilePart(bytes(collector.file), collector.file_type, collector.file_name)


def require_supported_body(content_type: str | None) -> str:
    essence = media_essence(content_type)
    if essence not in ("multipart/form-data", "application/json"):
        raise UnsupportedType("send multipart/form-data with a `file` part, or application/json text")
    return essence

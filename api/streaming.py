"""Streaming an item's decrypted content to the client: one recipe for every endpoint that does it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from fastapi.responses import StreamingResponse

from customization_vault.catalog import ItemView


def stream_content(
    item: ItemView, chunks: Iterator[bytes], *, disposition: str, extra: Mapping[str, str] | None = None
) -> StreamingResponse:
    """Pull the first segment before answering, so a missing blob or failed authentication becomes a
    proper problem status instead of a 200 that dies mid-body; never cached, never sniffed."""
    first = next(chunks, b"")

    def body() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    return StreamingResponse(
        body(),
        media_type=item.content_type,
        headers={
            "Content-Length": str(item.size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": disposition,
            **(extra or {}),
        },
    )

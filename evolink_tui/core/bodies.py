"""Answer bodies read within bounds: their size after decompression, and their time.

httpx inflates a compressed answer as it likes: a few kilobytes of stacked gzip become
gigabytes in one call. Here the raw bytes are inflated by our own decoder in steps of at
most :data:`STEP` bytes, counted as they come, and refused past a limit; one content
coding at most (gzip or deflate: what the client asks for), anything else is refused.
A body that trickles (a byte every few seconds keeps every read inside its timeout) is
cut off once it falls behind a minimum rate: :data:`FLOOR` seconds, plus the bytes so far
at :data:`MIN_RATE`. Time comes from the client's clock, so tests run it instantly.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

from .errors import EvolinkError

STEP = 64 * 1024  # the most one inflate step may produce
MAX_JSON_BYTES = 4 * 1024 * 1024  # an API answer: a page of 100 files is ~50 KB
FLOOR = 30.0  # seconds any body may take, however small
MIN_RATE = 16 * 1024  # bytes per second a body must average beyond the floor
ACCEPT_ENCODING = "gzip, deflate"


def _refused(code: str, message: str) -> EvolinkError:
    return EvolinkError("local", code, message)


class _Inflater:
    """One content coding, inflated a step at a time."""

    def __init__(self, coding: str, damaged: str):
        self.coding = coding
        self.damaged = damaged
        self._first = True
        wbits = 16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._z.eof:  # another gzip member follows (or trailing bytes after deflate: ignored)
                if self.coding == "deflate":
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = self._z.decompress(data, STEP)
            except zlib.error:
                if self._first and self.coding == "deflate":  # raw deflate, without the zlib header
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise _refused(self.damaged, f"the answer's {self.coding} data is damaged") from None
            self._first = False
            if out:
                yield out
            data = self._z.unconsumed_tail or (self._z.unused_data if self._z.eof else b"")

    def finish(self) -> Iterator[bytes]:
        try:
            rest = self._z.flush()
        except zlib.error:
            raise _refused(self.damaged, f"the answer's {self.coding} data is damaged") from None
        if rest:
            yield rest
        if not self._z.eof:
            raise _refused(self.damaged, f"the answer's {self.coding} data ends early")


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), STEP):
            yield data[start : start + STEP]

    def finish(self) -> Iterator[bytes]:
        return iter(())


def decoder(content_encoding: str | None, *, damaged: str = "malformed", unsupported: str | None = None):
    """A step-wise decoder for a ``Content-Encoding`` header; EvolinkError (code
    ``unsupported``, else ``damaged``) for a coding we did not ask for, or more than one
    (a stacked bomb)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflater(codings[0], damaged)
    shown = ", ".join(codings)[:60]
    raise _refused(
        unsupported or damaged, f"the answer is encoded as {shown!r}; only one layer of gzip or deflate is accepted"
    )


class BoundedBody:
    """``async for chunk in BoundedBody(response, ...)``: the decoded body, in steps,
    refused with code ``too_large`` past ``limit`` decoded bytes, with code ``slow`` (a
    network failure) once it falls behind the minimum rate, with code ``damaged`` when
    its compression is broken (``unsupported``, when given, for a coding it does not take).
    ``raw`` and ``size`` count the bytes received and decoded."""

    def __init__(
        self,
        response,
        clock,
        *,
        limit: int,
        what: str = "the answer",
        too_large: str = "too_large",
        damaged: str = "malformed",
        unsupported: str | None = None,
        floor: float = FLOOR,
        min_rate: float = MIN_RATE,
    ):
        self.response = response
        self.clock = clock
        self.limit = limit
        self.what = what
        self.too_large = too_large
        self.damaged = damaged
        self.unsupported = unsupported
        self.floor = floor
        self.min_rate = min_rate
        self.raw = 0
        self.size = 0

    def _count(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.limit:
            raise _refused(
                self.too_large, f"{self.what} is over the {self.limit:,}-byte limit (counted after decompression)"
            )
        return piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decode = decoder(
            self.response.headers.get("Content-Encoding"), damaged=self.damaged, unsupported=self.unsupported
        )
        start = self.clock.now()
        async for raw in self.response.aiter_raw():
            self.raw += len(raw)
            for piece in decode.feed(raw):
                yield self._count(piece)
            elapsed = self.clock.now() - start
            if elapsed > self.floor + self.raw / self.min_rate:
                raise EvolinkError(
                    "local",
                    "network",
                    f"{self.what} is arriving too slowly ({self.raw:,} bytes in {elapsed:.0f} s): stopped",
                )
        for piece in decode.finish():
            yield self._count(piece)

    async def read(self) -> bytes:
        parts = [piece async for piece in self]
        return b"".join(parts)

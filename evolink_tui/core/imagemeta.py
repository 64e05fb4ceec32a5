"""Text metadata spliced into an image file without touching its pixels.

A result carries its recipe (see :mod:`.recipe`) in the file itself, so it survives being
moved, renamed or sent to someone. Nothing is decoded or re-encoded: the compressed image
data is copied byte for byte and only metadata containers are added.

- PNG: ``tEXt``/``iTXt`` chunks right after ``IHDR`` (``iTXt``, UTF-8, when the text is
  not Latin-1). Earlier chunks with the same keywords are dropped, so writing twice
  leaves one copy.
- JPEG: an APP1 Exif segment whose UserComment holds the ``parameters`` line (only when
  the file has no Exif of its own: a server's Exif is never rewritten) and an APP1 XMP
  packet holding the recipe JSON, after the JFIF APP0 segment if there is one.
- WebP: the same Exif and XMP as RIFF chunks; a simple (``VP8 ``/``VP8L``) file becomes
  an extended (``VP8X``) one, whose header declares them.
- GIF: nothing (the sidecar holds the recipe).

Reading goes through Pillow (:func:`read_text_metadata`), which opens the file without
decoding it. Everything read is bounded.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path

RECIPE_KEYWORD = "evolink:recipe"  # PNG text keyword; in XMP: element "recipe" of XMP_NAMESPACE
PARAMETERS_KEYWORD = "parameters"  # PNG text keyword (A1111's); in JPEG/WebP: the Exif UserComment
XMP_NAMESPACE = "urn:evolink-tui:ns:recipe:1.0/"
XMP_PREFIX = "evolink"
MAX_TEXT = 1 << 20  # a recipe is a few kilobytes; anything read beyond this is ignored
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_EXIF_HEADER = b"Exif\x00\x00"
_USER_COMMENT = 0x9286  # in the Exif sub-IFD
_EXIF_IFD = 0x8769
_MAX_SEGMENT = 65533  # a JPEG segment's payload, its length field included


class MetadataError(ValueError):
    """The file's structure is not what its type promises: it is left as it was."""


# -- PNG ----------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of every chunk, ``end`` past its CRC."""
    if not data.startswith(_PNG_SIGNATURE):
        raise MetadataError("not a PNG file")
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise MetadataError("a PNG chunk runs past the end of the file")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            raise MetadataError("a PNG chunk runs past the end of the file")
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise MetadataError("a PNG file must start with IHDR and end with IEND")
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_text_chunk(keyword: str, text: str) -> bytes:
    key = keyword.encode("latin-1")
    text = text.replace("\x00", "\ufffd")  # NUL separates fields in text chunks
    try:
        return _png_chunk(b"tEXt", key + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:  # iTXt: uncompressed, no language, UTF-8
        return _png_chunk(b"iTXt", key + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))


def _png_keyword(data: bytes, start: int, end: int) -> bytes:
    body = data[start + 8 : end - 4]
    return body.split(b"\x00", 1)[0]


def png_with_text(data: bytes, entries: dict[str, str]) -> bytes:
    """``data`` with a text chunk per entry after IHDR; older chunks of those keywords go."""
    chunks = _png_chunks(data)
    keys = {k.encode("latin-1") for k in entries}
    out = [data[: chunks[0][2]]]  # signature and IHDR
    out += [_png_text_chunk(k, v) for k, v in entries.items()]
    for kind, start, end in chunks[1:]:
        if kind in (b"tEXt", b"iTXt", b"zTXt") and _png_keyword(data, start, end) in keys:
            continue
        out.append(data[start:end])
    return b"".join(out)


# -- XMP and Exif (JPEG and WebP) -----------------------------------------------------------


def _xml_text(text: str) -> str:
    """Text safe inside XML 1.0: escaped, and without the characters XML cannot hold."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xmp_description(entries: dict[str, str]) -> str:
    fields = "".join(f"<{XMP_PREFIX}:{k}>{_xml_text(v)}</{XMP_PREFIX}:{k}>" for k, v in entries.items())
    return f'<rdf:Description rdf:about="" xmlns:{XMP_PREFIX}="{XMP_NAMESPACE}">{fields}</rdf:Description>'


_OUR_DESCRIPTION = re.compile(
    r"<rdf:Description[^>]*xmlns:" + XMP_PREFIX + r'="' + re.escape(XMP_NAMESPACE) + r'".*?</rdf:Description>', re.S
)


def xmp_packet(entries: dict[str, str], existing: bytes | None = None) -> bytes:
    """An XMP packet with ``entries`` in our namespace; merged into ``existing`` (another
    tool's packet) when it has an ``rdf:RDF`` to add to, replacing an earlier one of ours."""
    ours = _xmp_description(entries)
    if existing:
        try:
            text = existing.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        text = _OUR_DESCRIPTION.sub("", text)
        if "</rdf:RDF>" in text:
            return text.replace("</rdf:RDF>", ours + "</rdf:RDF>", 1).encode("utf-8")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{ours}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def user_comment(text: str) -> bytes:
    """An Exif UserComment value: the 8-byte character code, then the text (UTF-16 big-endian
    for Unicode, as piexif and the A1111 readers expect)."""
    if text.isascii():
        return b"ASCII\x00\x00\x00" + text.encode("ascii")
    return b"UNICODE\x00" + text.encode("utf-16-be")


def exif_with_comment(text: str) -> bytes:
    """A new Exif block (``Exif\\0\\0`` + TIFF) holding only a UserComment."""
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.IFD.Exif] = {_USER_COMMENT: user_comment(text)}
    return exif.tobytes()


def _ours(exif: bytes) -> bool:
    """Whether an Exif block (``Exif\\0\\0`` + TIFF) is one this module wrote: replaced, not kept."""
    from PIL import Image

    try:
        block = Image.Exif()
        block.load(exif)
        text = decode_user_comment(block.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    except Exception:
        return False
    return text is not None and "Generator: evolink-tui" in text


def decode_user_comment(value) -> str | None:
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | bytearray) or len(value) < 8:
        return None
    code, body = bytes(value[:8]), bytes(value[8 : 8 + 2 * MAX_TEXT])
    if code.startswith(b"UNICODE"):
        for encoding in ("utf-16-be", "utf-16-le"):
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError:
                continue
            if text.isprintable() or "\n" in text:
                return text
        return None
    return body.decode("utf-8" if not code.startswith(b"ASCII") else "ascii", "replace").rstrip("\x00")


# -- JPEG ---------------------------------------------------------------------------------

_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """(marker, start, end) of each segment before the scan, and where the scan starts (SOS)."""
    if not data.startswith(b"\xff\xd8"):
        raise MetadataError("not a JPEG file")
    segments: list[tuple[int, int, int]] = []
    pos = 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise MetadataError("broken JPEG segment structure")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: everything from here is copied as it is
            return segments, pos
        if marker in _STANDALONE:
            segments.append((marker, pos, pos + 2))
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise MetadataError("a JPEG segment runs past the end of the file")
        segments.append((marker, pos, end))
        pos = end


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > _MAX_SEGMENT:
        raise MetadataError("metadata too large for a JPEG segment")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_metadata(data: bytes, entries: dict[str, str], comment: str) -> bytes:
    segments, scan = _jpeg_segments(data)
    has_exif, existing_xmp, kept = False, None, []
    for marker, start, end in segments:
        if marker == 0xE1 and data[start + 4 : start + 4 + len(_XMP_HEADER)] == _XMP_HEADER:
            existing_xmp = data[start + 4 + len(_XMP_HEADER) : end]
            continue
        if marker == 0xE1 and data[start + 4 : start + 10] == _EXIF_HEADER:
            if _ours(data[start + 4 : end]):
                continue  # written here before: replaced
            has_exif = True  # the server's own: kept as it is
        kept.append((marker, start, end))
    ours = b""
    if not has_exif:
        ours += _jpeg_segment(0xE1, exif_with_comment(comment))
    ours += _jpeg_segment(0xE1, _XMP_HEADER + xmp_packet(entries, existing_xmp))
    # After SOI and a leading JFIF APP0 (JFIF wants to be first), before everything else.
    lead = 1 if kept and kept[0][0] == 0xE0 else 0
    out = [data[:2]]
    out += [data[s:e] for _, s, e in kept[:lead]]
    out.append(ours)
    out += [data[s:e] for _, s, e in kept[lead:]]
    out.append(data[scan:])
    return b"".join(out)


# -- WebP ---------------------------------------------------------------------------------

_VP8X_ICC, _VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP = 0x20, 0x10, 0x08, 0x04


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MetadataError("not a WebP file")
    (riff_size,) = struct.unpack("<I", data[4:8])
    limit = min(len(data), 8 + riff_size)
    chunks, pos = [], 12
    while pos + 8 <= limit:
        kind = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        end = pos + 8 + size
        if end > limit:
            raise MetadataError("a WebP chunk runs past the end of the file")
        chunks.append((kind, data[pos + 8 : end]))
        pos = end + (size & 1)
    if not chunks:
        raise MetadataError("a WebP file without chunks")
    return chunks


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _webp_canvas(kind: bytes, body: bytes) -> tuple[int, int, bool]:
    """(width, height, has alpha) of a simple WebP's one image chunk."""
    if kind == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        (bits,) = struct.unpack("<I", body[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    if kind == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    raise MetadataError(f"unexpected first WebP chunk {kind!r}")


def webp_with_metadata(data: bytes, entries: dict[str, str], comment: str) -> bytes:
    chunks = _riff_chunks(data)
    first_kind, first_body = chunks[0]
    if first_kind == b"VP8X":
        if len(first_body) < 10:
            raise MetadataError("a short VP8X chunk")
        flags, header, rest = first_body[0], first_body, chunks[1:]
    else:
        width, height, alpha = _webp_canvas(first_kind, first_body)
        flags = _VP8X_ALPHA if alpha else 0
        header = bytes(4) + struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
        rest = chunks
    rest = [(kind, part) for kind, part in rest if kind != b"EXIF" or not _ours(_EXIF_HEADER + part)]
    has_exif = any(kind == b"EXIF" for kind, _ in rest)
    existing_xmp = next((body for kind, body in rest if kind == b"XMP "), None)
    body = [_riff_chunk(kind, part) for kind, part in rest if kind != b"XMP "]
    if not has_exif:
        body.append(_riff_chunk(b"EXIF", exif_with_comment(comment)[len(_EXIF_HEADER) :]))
    body.append(_riff_chunk(b"XMP ", xmp_packet(entries, existing_xmp)))
    flags |= _VP8X_EXIF | _VP8X_XMP
    vp8x = _riff_chunk(b"VP8X", bytes((flags,)) + header[1:10])
    payload = b"WEBP" + vp8x + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


# -- files ---------------------------------------------------------------------------------


def with_recipe(data: bytes, kind: str, recipe_json: str, parameters: str) -> bytes | None:
    """``data`` carrying the recipe (JSON text) and its ``parameters`` line, or None for a
    type that cannot hold them (GIF).

    PNG: text chunks ``evolink:recipe`` and ``parameters``; JPEG and WebP: ``evolink:recipe``
    in XMP and ``parameters`` as the Exif UserComment. Raises MetadataError when the file is
    not laid out as its type requires.
    """
    if kind == "png":
        return png_with_text(data, {PARAMETERS_KEYWORD: parameters, RECIPE_KEYWORD: recipe_json})
    entries = {RECIPE_KEYWORD.split(":", 1)[1]: recipe_json}
    if kind == "jpeg":
        return jpeg_with_metadata(data, entries, parameters)
    if kind == "webp":
        return webp_with_metadata(data, entries, parameters)
    return None


def write_recipe(path: Path, kind: str, recipe_json: str, parameters: str) -> bool:
    """Rewrite ``path`` in place (a temporary file not yet renamed into place) carrying the
    recipe; False, with the file untouched, when it cannot hold it. OSError propagates."""
    data = Path(path).read_bytes()
    try:
        new = with_recipe(data, kind, recipe_json, parameters)
    except (ValueError, struct.error, IndexError):  # MetadataError, or a layout the checks missed
        return False
    if new is None or not _same_image(data, new):
        return False
    with open(path, "r+b") as handle:
        handle.write(new)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _same_image(before: bytes, after: bytes) -> bool:
    """Pillow still reads the new file as the same format and size (headers only, no decode)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(before)) as old, Image.open(io.BytesIO(after)) as new:
            return (old.format, old.size, old.mode) == (new.format, new.size, new.mode)
    except Exception:
        return False


def read_recipe_text(path: Path) -> tuple[str | None, str | None, str | None]:
    """(image kind, recipe JSON text, ``parameters`` text) found in an image file, without
    decoding it. The parameters text is the PNG ``parameters`` chunk or the Exif
    UserComment, whoever wrote it. Raises OSError (``PIL.UnidentifiedImageError``) when
    the file is not an image.
    """
    from PIL import ExifTags, Image

    from .imagetypes import KIND_BY_PIL_FORMAT

    recipe = parameters = None
    with Image.open(path) as image:
        kind = KIND_BY_PIL_FORMAT.get(image.format or "")
        if kind == "png":
            recipe = _text(image.info.get(RECIPE_KEYWORD))
            parameters = _text(image.info.get(PARAMETERS_KEYWORD))
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        if recipe is None and xmp:
            fields = parse_xmp(xmp if isinstance(xmp, bytes) else str(xmp).encode("utf-8"))
            recipe = _text(fields.get(RECIPE_KEYWORD.split(":", 1)[1]))
        if kind in ("jpeg", "webp"):
            try:
                comment = image.getexif().get_ifd(ExifTags.IFD.Exif).get(_USER_COMMENT)
            except Exception:  # a broken Exif block hides no recipe in the XMP
                comment = None
            parameters = decode_user_comment(comment)
    return kind, recipe, parameters


def _text(value) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def parse_xmp(packet: bytes) -> dict[str, str]:
    """The fields of our namespace in an XMP packet (elements or attributes), if any."""
    import xml.etree.ElementTree as ElementTree

    if len(packet) > MAX_TEXT or XMP_NAMESPACE.encode() not in packet:
        return {}
    text = packet.decode("utf-8", "replace")
    text = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip("\x00 \r\n\t\ufeff")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # no entities: nothing to expand
        return {}
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return {}
    prefix = "{" + XMP_NAMESPACE + "}"
    found: dict[str, str] = {}
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.startswith(prefix):
                found[name[len(prefix) :]] = value
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            found[element.tag[len(prefix) :]] = element.text or ""
    return found

"""Read the render passes Blender saves as OpenEXR (numpy and the standard library only).

Why our own reader: code in `blender/` runs inside a stock Blender, whose Python has numpy but no
OpenEXR, OpenCV or imageio. Blender's own image loader only exposes one pass of a multilayer
file. The renderer saves each Render Result once as a multilayer EXR and reads it back here.

Supported: scanline images, single-part (Blender 3.x/4.x: every channel in one header) and
multi-part (Blender 5.x: one part per pass, e.g. `ViewLayer.Combined`, `ViewLayer.Object Index`),
pixel types UINT/HALF/FLOAT, compression NONE, ZIPS and ZIP. Anything else (tiled or deep images,
other codecs, subsampled channels) raises `ExrError` naming the file.

Layout, from the OpenEXR file-layout spec: magic, version flags, header(s) of attributes
(name, type, size, value), per part a table of uint64 chunk offsets, then chunks. A scanline
chunk holds `lines_per_chunk` rows; within a row, channels follow the header's channel list
(sorted by name), each as `width` little-endian values.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

MAGIC = 20000630
TILED_FLAG = 0x200
DEEP_FLAG = 0x800
MULTIPART_FLAG = 0x1000

PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}  # UINT, HALF, FLOAT
CODEC_NAMES = [
    "NONE",
    "RLE",
    "ZIPS",
    "ZIP",
    "PIZ",
    "PXR24",
    "B44",
    "B44A",
    "DWAA",
    "DWAB",
    "HTJ2K256",
    "HTJ2K32",
]
LINES_PER_CHUNK = {0: 1, 2: 1, 3: 16}  # codecs we decode -> scanlines per chunk


class ExrError(ValueError):
    """A file this reader cannot decode, or a channel that is not there."""


def read_exr(path: str | Path, keep: Callable[[str], bool] | None = None) -> dict[str, np.ndarray]:
    """Every channel of every part as a float32 (H, W) array, top row first.

    Keys are full channel names (`ViewLayer.Combined.R`). The arrays cover the display window;
    pixels outside the data window are 0. UINT channels are converted to float32, which is exact
    below 2**24 (object indices are far smaller). With `keep`, only channels whose name it
    accepts are returned, which saves converting passes the caller ignores (Blender 5 adds
    `Noisy Image` when denoising).
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 8 or struct.unpack_from("<i", data, 0)[0] != MAGIC:
        raise ExrError(f"{path}: not an OpenEXR file (bad magic number)")
    flags = struct.unpack_from("<I", data, 4)[0]
    if flags & 0xFF != 2:
        raise ExrError(f"{path}: OpenEXR version {flags & 0xFF}, expected 2")
    if flags & TILED_FLAG:
        raise ExrError(f"{path}: tiled OpenEXR is not supported, expected scanline")
    if flags & DEEP_FLAG and not flags & MULTIPART_FLAG:
        raise ExrError(f"{path}: deep OpenEXR is not supported, expected scanline")
    multipart = bool(flags & MULTIPART_FLAG)

    headers, pos = [], 8
    while True:
        header, pos = _read_header(data, pos, path)
        headers.append(header)
        if not multipart:
            break
        if data[pos : pos + 1] == b"\0":  # an empty header ends the list of parts
            pos += 1
            break

    parts = []
    for index, header in enumerate(headers):
        part = _Part(header, index, path)
        count = part.chunk_count(multipart)
        if pos + 8 * count > len(data):
            raise ExrError(f"{path}: file ends inside the chunk offset table (truncated?)")
        offsets = np.frombuffer(data, "<u8", count, pos)
        pos += 8 * count
        parts.append((part, offsets))

    channels: dict[str, np.ndarray] = {}
    for index, (part, offsets) in enumerate(parts):
        for name, array in part.decode(data, offsets, multipart, index, keep).items():
            if name in channels:
                raise ExrError(f"{path}: channel {name!r} appears in more than one part")
            channels[name] = array
    return channels


def find_channel(
    channels: dict[str, np.ndarray],
    pass_names: tuple[str, ...] | str,
    component: str,
    layer: str | None = None,
) -> np.ndarray:
    """The one channel `<layer>.<pass>.<component>` whatever the Blender version calls the pass.

    E.g. `find_channel(ch, ("IndexOB", "Object Index"), "X")` finds `ViewLayer.IndexOB.X`
    (Blender 3.x/4.x) and `ViewLayer.Object Index.X` (5.x). The layer prefix may be absent or
    any view layer name; give `layer` when several view layers hold the pass.
    """
    if isinstance(pass_names, str):
        pass_names = (pass_names,)
    found = []
    for name in channels:
        for pass_name in pass_names:
            tail = f"{pass_name}.{component}"
            if layer is not None:
                if name == f"{layer}.{tail}":
                    found.append(name)
            elif name == tail or name.endswith("." + tail):
                found.append(name)
    if len(found) != 1:
        wanted = " or ".join(f"'{p}.{component}'" for p in pass_names)
        if layer is not None:
            wanted += f" in layer '{layer}'"
        what = "no channel" if not found else f"several channels ({', '.join(found)})"
        raise ExrError(f"{what} matches {wanted}; channels: {', '.join(sorted(channels))}")
    return channels[found[0]]


def _read_header(data: bytes, pos: int, path: Path) -> tuple[dict[str, tuple[str, bytes]], int]:
    """Attributes of one header as {name: (type, raw value)}, and the position after it."""
    header: dict[str, tuple[str, bytes]] = {}
    try:
        while data[pos] != 0:
            end = data.index(b"\0", pos)
            name = data[pos:end].decode("latin-1")
            type_end = data.index(b"\0", end + 1)
            type_name = data[end + 1 : type_end].decode("latin-1")
            (size,) = struct.unpack_from("<i", data, type_end + 1)
            start = type_end + 5
            if size < 0 or start + size > len(data):
                raise ExrError(f"{path}: header attribute {name!r} runs past the end of the file")
            header[name] = (type_name, data[start : start + size])
            pos = start + size
    except ExrError:
        raise
    except (IndexError, ValueError, struct.error) as err:  # ran off the end of the bytes
        raise ExrError(f"{path}: file ends inside a header (truncated?)") from err
    return header, pos + 1


class _Part:
    """One image of a (possibly multi-part) file: its channels, window and codec."""

    def __init__(self, header: dict[str, tuple[str, bytes]], index: int, path: Path):
        self.path = path
        self.where = f"{path}: part {index}" + (f" ({_string(header['name'][1])!r})" if "name" in header else "")
        for key in ("channels", "compression", "dataWindow", "displayWindow"):
            if key not in header:
                raise ExrError(f"{self.where}: header has no {key!r} attribute")
        kind = _string(header["type"][1]) if "type" in header else "scanlineimage"
        if kind != "scanlineimage":
            raise ExrError(f"{self.where}: part type {kind!r} is not supported, expected 'scanlineimage'")
        self.codec = header["compression"][1][0]
        if self.codec not in LINES_PER_CHUNK:
            name = CODEC_NAMES[self.codec] if self.codec < len(CODEC_NAMES) else self.codec
            raise ExrError(
                f"{self.where}: compression {name} is not supported, expected NONE, "
                "ZIPS or ZIP (save with exr_codec 'NONE')"
            )
        self.lines = LINES_PER_CHUNK[self.codec]
        self.x0, self.y0, x1, y1 = struct.unpack("<4i", header["dataWindow"][1])
        self.width, self.height = x1 - self.x0 + 1, y1 - self.y0 + 1
        dx0, dy0, dx1, dy1 = struct.unpack("<4i", header["displayWindow"][1])
        self.display = (dx0, dy0, dx1 - dx0 + 1, dy1 - dy0 + 1)
        if self.width <= 0 or self.height <= 0:
            raise ExrError(f"{self.where}: empty data window")
        self.chunk_count_attr = struct.unpack("<i", header["chunkCount"][1])[0] if "chunkCount" in header else None
        self.channels = self._channel_list(header["channels"][1])
        # One scanline: each channel's `width` values, channels in header order.
        self.row = np.dtype([(name, dt, (self.width,)) for name, dt in self.channels])

    def _channel_list(self, raw: bytes) -> list[tuple[str, np.dtype]]:
        out, pos = [], 0
        while pos < len(raw) and raw[pos] != 0:
            end = raw.index(b"\0", pos)
            name = raw[pos:end].decode("utf-8")
            pixel_type, _linear, x_sampling, y_sampling = struct.unpack_from("<iB3xii", raw, end + 1)
            pos = end + 17
            if pixel_type not in PIXEL_DTYPES:
                raise ExrError(
                    f"{self.where}: channel {name!r} has pixel type {pixel_type}, "
                    "expected 0 (UINT), 1 (HALF) or 2 (FLOAT)"
                )
            if (x_sampling, y_sampling) != (1, 1):
                raise ExrError(
                    f"{self.where}: channel {name!r} is subsampled ({x_sampling}x{y_sampling}), expected 1x1"
                )
            out.append((name, PIXEL_DTYPES[pixel_type]))
        if not out:
            raise ExrError(f"{self.where}: no channels")
        return out

    def chunk_count(self, multipart: bool) -> int:
        count = -(-self.height // self.lines)
        if multipart and self.chunk_count_attr is None:
            raise ExrError(f"{self.where}: multi-part header has no 'chunkCount' attribute")
        if self.chunk_count_attr is not None and self.chunk_count_attr != count:
            raise ExrError(
                f"{self.where}: chunkCount {self.chunk_count_attr}, expected {count} for {self.height} lines"
            )
        return count

    def decode(
        self,
        data: bytes,
        offsets: np.ndarray,
        multipart: bool,
        index: int,
        keep: Callable[[str], bool] | None = None,
    ) -> dict[str, np.ndarray]:
        """Channel arrays of this part (those `keep` accepts), placed in its display window."""
        names = [name for name, _dt in self.channels if keep is None or keep(name)]
        if not names:
            return {}
        head = struct.Struct("<iii" if multipart else "<ii")
        rows = self._contiguous_rows(data, offsets, head.size, index) if self.codec == 0 else None
        if rows is None:
            rows = self._gather_rows(data, offsets, head, multipart, index)
        dx, dy, dw, dh = self.display
        out = {}
        for name in names:
            values = rows[name].astype(np.float32)
            if (dx, dy, dw, dh) != (self.x0, self.y0, self.width, self.height):
                values = _place(values, self.x0 - dx, self.y0 - dy, dw, dh)
            out[name] = values
        return out

    def _contiguous_rows(self, data: bytes, offsets: np.ndarray, head_size: int, index: int) -> np.ndarray | None:
        """Zero-copy view of uncompressed rows stored back to back, top to bottom (what
        Blender writes), or None when the file is laid out otherwise."""
        step = head_size + self.row.itemsize
        start = int(offsets[0])
        if np.any(np.diff(offsets.astype(np.int64)) != step) or start + step * len(offsets) > len(data):
            return None
        fields = [("y", "<i4"), ("size", "<i4"), ("row", self.row)]
        if head_size == 12:
            fields.insert(0, ("part", "<i4"))
        chunks = np.frombuffer(data, np.dtype(fields), len(offsets), start)
        if (
            np.any(chunks["y"] != self.y0 + np.arange(self.height))
            or np.any(chunks["size"] != self.row.itemsize)
            or (head_size == 12 and np.any(chunks["part"] != index))
        ):
            return None
        return chunks["row"]

    def _gather_rows(
        self, data: bytes, offsets: np.ndarray, head: struct.Struct, multipart: bool, index: int
    ) -> np.ndarray:
        """Rows of every chunk, decompressed and put in top-to-bottom order."""
        view = memoryview(data)
        blocks: list[bytes | memoryview | None] = [None] * len(offsets)
        for offset in offsets.tolist():
            if offset + head.size > len(data):
                raise ExrError(f"{self.where}: chunk offset {offset} past the end of the file (truncated?)")
            fields = head.unpack_from(data, offset)
            if multipart and fields[0] != index:
                raise ExrError(f"{self.where}: chunk at {offset} belongs to part {fields[0]}")
            y, size = fields[-2:]
            block = (y - self.y0) // self.lines
            if (y - self.y0) % self.lines or not 0 <= block < len(blocks):
                raise ExrError(
                    f"{self.where}: chunk at {offset} starts at line {y}, outside "
                    f"the data window or not on a {self.lines}-line boundary"
                )
            start = offset + head.size
            if size < 0 or start + size > len(data):
                raise ExrError(f"{self.where}: chunk at {offset} runs past the end of the file")
            rows = min(self.lines, self.height - block * self.lines)
            blocks[block] = self._unpack(view[start : start + size], rows * self.row.itemsize, y)
        if any(b is None for b in blocks):
            raise ExrError(f"{self.where}: some scanlines are missing")
        return np.frombuffer(b"".join(blocks), self.row, self.height)

    def _unpack(self, packed: memoryview, raw_size: int, y: int) -> bytes | memoryview:
        """Raw scanline bytes of one chunk (a chunk that did not shrink is stored raw)."""
        if self.codec == 0 or len(packed) == raw_size:
            raw = packed
        else:
            try:
                raw = _unzip(packed, raw_size)
            except zlib.error as err:
                raise ExrError(f"{self.where}: corrupt ZIP data in the chunk at line {y}") from err
        if len(raw) != raw_size:
            raise ExrError(f"{self.where}: chunk at line {y} holds {len(raw)} bytes, expected {raw_size}")
        return raw


def _unzip(packed: memoryview, raw_size: int) -> bytes:
    """Undo OpenEXR's ZIP(S) filter: zlib, then a byte-delta predictor, then a 2-way interleave."""
    t = np.frombuffer(zlib.decompress(packed, bufsize=max(raw_size, 1)), np.uint8).copy()
    t[1:] -= np.uint8(128)  # each byte stored as (delta + 128) mod 256
    t = np.cumsum(t, dtype=np.uint8)  # wraps modulo 256, as the C++ reference does
    out = np.empty_like(t)
    half = (len(t) + 1) // 2
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def _place(values: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """Data-window pixels inside a zero display window (x, y: data origin in display pixels)."""
    out = np.zeros((height, width), np.float32)
    h, w = values.shape
    ys, xs = max(y, 0), max(x, 0)
    ye, xe = min(y + h, height), min(x + w, width)
    if ye > ys and xe > xs:
        out[ys:ye, xs:xe] = values[ys - y : ye - y, xs - x : xe - x]
    return out


def _string(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")

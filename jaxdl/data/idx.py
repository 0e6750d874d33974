"""IDX files (the MNIST / Fashion-MNIST container), parsed strictly.

Layout: two zero bytes, a type code, the number of dimensions D, then D big-endian uint32 sizes and the
data, big-endian, row-major. Anything else (bad magic, unknown type, short or over-long data, a broken
gzip stream) raises IDXError naming the file and what is wrong, so a damaged download never turns into
silently wrong arrays.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}


class IDXError(ValueError):
    """An IDX file is missing, truncated or not IDX at all."""


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decodes the bytes of one (uncompressed) IDX file into an array in native byte order."""
    if len(data) < 4:
        raise IDXError(f"IDX file {name} is truncated: {len(data)} bytes, not even a header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _TYPES or ndim == 0:
        raise IDXError(
            f"IDX file {name} has a bad magic number 0x{data[:4].hex()}: expected 0x0000 then a type "
            f"code in {{{', '.join(f'0x{c:02x}' for c in _TYPES)}}} and a non-zero dimension count"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"IDX file {name} is truncated: header needs {header} bytes, got {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        problem = "is truncated" if len(data) < expected else "has trailing bytes"
        raise IDXError(
            f"IDX file {name} {problem}: expected {expected} bytes for shape {shape}, got {len(data)}"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file, gzip-compressed when its name ends in .gz."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except FileNotFoundError:
        raise IDXError(f"IDX file {path} does not exist") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        problem = f"is not a complete gzip stream (truncated or corrupt): {err}"
        raise IDXError(f"IDX file {path} {problem}") from err
    return parse_idx(data, path)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Writes `array` as IDX (gzip-compressed when the name ends in .gz); for tests and tools."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0:
        raise ValueError(f"cannot write dtype {array.dtype} with {array.ndim} dims as IDX")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    data = header + np.ascontiguousarray(array, _TYPES[code]).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)

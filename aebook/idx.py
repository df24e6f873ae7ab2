"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al. 1998, key ``lecun1998mnist``):
decode, encode and read it, verified against an md5; and the atomic file write the cache uses.

An IDX file of unsigned bytes: two zero bytes, the type 0x08, the number of dimensions, each size
as a big-endian int32, then the data. ``aebook.data`` finds and loads the data sets.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np


class CorruptDataError(ValueError):
    """A data file whose content does not match its published checksum."""


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def parse_idx(raw: bytes, expected_md5: str | None = None) -> np.ndarray:
    """Decode an uncompressed IDX file (unsigned bytes) after checking its md5 and its length."""
    if expected_md5 is not None and md5(raw) != expected_md5:
        raise CorruptDataError(f"md5 {md5(raw)} does not match the published {expected_md5}")
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise CorruptDataError("not an IDX file of unsigned bytes")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise CorruptDataError(f"IDX header promises {ndim} dimensions, the file ends after {len(raw)} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise CorruptDataError(f"IDX body has {len(body)} bytes, its header promises shape {shape}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array: the inverse of ``parse_idx``."""
    if array.dtype != np.uint8:
        raise TypeError(f"encode_idx expects uint8, got {array.dtype}")
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def read_idx_file(path: Path, expected_md5: str) -> np.ndarray:
    """Read ``path`` (gzipped or plain IDX) and verify the decompressed content."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise CorruptDataError(f"{path}: broken gzip stream ({err})") from err
    try:
        return parse_idx(raw, expected_md5)
    except CorruptDataError as err:
        raise CorruptDataError(f"{path}: {err}") from err


def store(raw: bytes, folder: Path, name: str) -> bool:
    """Write ``raw`` to ``folder / name`` atomically (a temporary file, then a rename), replacing
    whatever is there, a directory included. False, not an error, where the folder cannot be
    written (read-only, full, not a folder): a cache is an optimisation."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True
    except OSError:
        return False

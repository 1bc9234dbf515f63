"""Vectors as a BLOB: int8 with one float32 scale in front (388 bytes for 384 numbers,
a quarter of float32's size; cosine against the float vector stays above 0.999).

A memory embedded as several passages (``passages``) has one BLOB holding its vectors
one after the other (``pack_many``); ``split_rows`` reads many such BLOBs back with the
row each vector came from.
"""
from __future__ import annotations

import numpy as np


def pack(vector) -> bytes:
    vector = np.asarray(vector, dtype=np.float32).ravel()
    peak = float(np.abs(vector).max()) if vector.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    quantized = np.clip(np.rint(vector / scale), -127, 127).astype(np.int8)
    return np.float32(scale).tobytes() + quantized.tobytes()


def pack_many(vectors) -> bytes:
    """The vectors of one memory's passages as one BLOB."""
    return b"".join(pack(vector) for vector in np.atleast_2d(np.asarray(vectors, dtype=np.float32)))


def split_many(blobs: list[bytes], dim: int):
    """``(codes, scales)``: an (n, dim) int8 array and n float32 scales from ``pack``'s
    BLOBs; a BLOB of the wrong size becomes a zero vector."""
    size = 4 + dim
    if all(len(blob) == size for blob in blobs):
        raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), size)
    else:
        raw = np.zeros((len(blobs), size), dtype=np.uint8)
        for i, blob in enumerate(blobs):
            if len(blob) == size:
                raw[i] = np.frombuffer(blob, dtype=np.uint8)
    scales = raw[:, :4].copy().view(np.float32).ravel()
    codes = raw[:, 4:].view(np.int8).copy()
    return codes, scales


def split_rows(blobs: list[bytes], dim: int):
    """``(codes, scales, owners)`` of every vector in ``pack_many``'s BLOBs: ``owners[i]``
    is the position in ``blobs`` of the BLOB vector ``i`` came from. A BLOB whose size is
    not a whole number of vectors (or empty) becomes one zero vector."""
    size = 4 + dim
    counts = np.fromiter((len(b) // size if len(b) and len(b) % size == 0 else 0 for b in blobs),
                         dtype=np.int64, count=len(blobs))
    if counts.size and (counts == 1).all():
        codes, scales = split_many(blobs, dim)
        return codes, scales, np.arange(len(blobs), dtype=np.int64)
    joined = b"".join(b if c else bytes(size) for b, c in zip(blobs, counts))
    counts = np.maximum(counts, 1)
    raw = np.frombuffer(joined, dtype=np.uint8).reshape(int(counts.sum()), size)
    scales = raw[:, :4].copy().view(np.float32).ravel()
    codes = raw[:, 4:].view(np.int8).copy()
    return codes, scales, np.repeat(np.arange(len(blobs), dtype=np.int64), counts)


def decode(codes, scales):
    """Float32 vectors from int8 codes and their scales."""
    out = codes.astype(np.float32)
    out *= scales[:, None]
    return out


def unpack_many(blobs: list[bytes], dim: int):
    """An (n, dim) float32 array from ``pack``'s BLOBs (wrong-sized ones become zeros)."""
    return decode(*split_many(blobs, dim))

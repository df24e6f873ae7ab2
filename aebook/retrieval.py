"""Information retrieval with autoencoder codes: nearest neighbours, precision@k, semantic hashing.

DLB §14.9 (``goodfellow2016deep``): a low-dimensional code makes search cheap, and a *binary* code
cheaper still. Semantic hashing (Salakhutdinov & Hinton 2009, ``salakhutdinov2009semantic``) injects
noise before a sigmoid code layer during training; to get its message through the noise the encoder
saturates the sigmoid, so the codes become nearly binary. The thresholded code is then an address:
similar items sit at the same or nearby addresses, found by flipping a few bits of the query's.

Conventions. Float codes ``h``: (N, k) numpy arrays or torch tensors on any device (used as
float32 CPU numpy; NaN is an error); results are CPU numpy arrays;
labels: (N,) ints; bits: (N, B) bool; packed codes: (N,) unsigned words, one per item, the smallest
of uint8/16/32/64 that holds B <= 64 bits, the first bit most significant (``pack_bits``).
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from .models import Autoencoder, mlp

Array = np.ndarray
# popcount of every 16-bit integer: 64 KiB, fits in the L2 cache. numpy < 2 has no np.bitwise_count.
_POPCOUNT16 = np.array([bin(i).count("1") for i in range(65536)], np.uint8)
_WORD = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _codes(h: Array | Tensor, name: str = "codes") -> Array:
    if isinstance(h, Tensor):
        h = h.detach().cpu().numpy()
    if not isinstance(h, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(h).__name__}")
    if h.ndim != 2 or 0 in h.shape or not np.issubdtype(h.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty numeric (N, k) array, got {h.dtype} of shape {h.shape}")
    h = np.ascontiguousarray(h, dtype=np.float32)
    if not np.isfinite(h).all():  # a NaN code has no nearest neighbours and no bits
        raise ValueError(f"{name} holds NaN or infinite values")
    return h


def _labels(y: Array | Tensor, n: int | None, name: str) -> Array:
    y = y.detach().cpu().numpy() if isinstance(y, Tensor) else y
    if not isinstance(y, np.ndarray) or y.ndim != 1 or n not in (None, len(y)) or y.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array{'' if n is None else f' of {n} labels'}, "
                         f"got {getattr(y, 'shape', type(y).__name__)} {getattr(y, 'dtype', '')}")
    return y


def _words(w: Array, name: str = "words", any_shape: bool = False) -> Array:
    if not isinstance(w, np.ndarray) or (w.ndim != 1 and not any_shape) or w.dtype.type not in _WORD.values():
        raise TypeError(f"{name} must be {'an' if any_shape else 'a 1-D'} array of uint8/16/32/64 words "
                        f"(pack_bits), got {getattr(w, 'dtype', type(w).__name__)} {getattr(w, 'shape', '')}")
    return w


def _int_in(name: str, value: int, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an int in {lo}..{'' if hi is None else hi}, got {value!r}")


def knn(query: Array | Tensor, db: Array | Tensor, k: int, metric: str = "euclidean",
        chunk: int = 512) -> Array:
    """Exact k nearest database rows of each query, by brute force: (Q, k) int64 indices, nearest first.

    ``metric`` "euclidean" ranks by ||q - d||^2 = ||q||^2 - 2 q.d + ||d||^2 (one BLAS product per
    chunk of queries, then ``torch.topk``); "cosine" by -q.d / (||q|| ||d||). Ties in any order.
    The float baseline of DLB §14.9."""
    q, d = _codes(query, "query"), _codes(db, "db")
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"query and db codes must have the same width, got {q.shape[1]} and {d.shape[1]}")
    _int_in("k", k, 1, len(d))
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    qt, dt = torch.from_numpy(q), torch.from_numpy(d)
    if metric == "cosine":
        qt, dt = nn.functional.normalize(qt, dim=1), nn.functional.normalize(dt, dim=1)
    d_sq = (dt * dt).sum(1) if metric == "euclidean" else dt.new_zeros(len(dt))  # (N,)
    scores = (-2 * qc @ dt.T + d_sq for qc in qt.split(chunk))  # (chunk, N), same order as distance
    nearest = [torch.topk(sc, k, dim=1, largest=False).indices for sc in scores]  # (chunk, k) each
    return torch.cat(nearest).numpy().astype(np.int64)


def neighbour_precision(neighbours: Array, query_labels: Array | Tensor, db_labels: Array | Tensor) -> float:
    """Mean over queries of the fraction of retrieved items (columns of ``neighbours``, (Q, k)
    database indices) whose label equals the query's: precision@k. Entries -1 (nothing retrieved)
    count as misses."""
    if not isinstance(neighbours, np.ndarray) or neighbours.ndim != 2 or neighbours.dtype.kind not in "iu":
        raise ValueError(f"neighbours must be a (Q, k) int array, got {getattr(neighbours, 'shape', neighbours)}")
    yq = _labels(query_labels, len(neighbours), "query_labels")
    yd = _labels(db_labels, None, "db_labels")
    if neighbours.size and (neighbours.max() >= len(yd) or neighbours.min() < -1):
        raise ValueError(f"neighbour indices must lie in -1..{len(yd) - 1}, got {neighbours.min()}..{neighbours.max()}")
    hit = (yd[neighbours] == yq[:, None]) & (neighbours >= 0)  # (Q, k)
    return float(hit.mean())


def precision_at_k(query_codes: Array | Tensor, query_labels: Array | Tensor, db_codes: Array | Tensor,
                   db_labels: Array | Tensor, k: int = 10, metric: str = "euclidean") -> float:
    """Precision@k of nearest-neighbour retrieval in code space, labels as relevance (DLB §14.9;
    Hinton & Salakhutdinov 2006, key ``hinton2006reducing``). Mean over queries, in [0, 1]."""
    return neighbour_precision(knn(query_codes, db_codes, k, metric), query_labels, db_labels)


class Centre(nn.Module):
    """Mean-only batch normalisation: a - mean over the batch in training, a - running mean in
    eval. Keeps each code unit split around 0 across the data, so that a sigmoid code cannot
    collapse to the same saturated value for every input. (N, k) -> (N, k)."""

    def __init__(self, k: int, momentum: float = 0.1) -> None:
        super().__init__()
        _int_in("k", k, 1)
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}")
        self.momentum = momentum
        self.register_buffer("running_mean", torch.zeros(k))

    def forward(self, a: Tensor) -> Tensor:
        if not self.training:
            return a - self.running_mean
        mu = a.mean(0)  # (k,)
        self.running_mean.lerp_(mu.detach(), self.momentum)
        return a - mu


class NoisySigmoid(nn.Module):
    """h = sigmoid(a + sigma_t * eps), eps ~ N(0, I), in training; h = sigmoid(a) in eval.

    Semantic hashing's code layer (Salakhutdinov & Hinton 2009, ``salakhutdinov2009semantic``;
    DLB §14.9). sigma_t grows linearly from 0 to ``sigma`` over the first ``ramp_steps`` training
    calls, then stays at ``sigma``. (N, k) -> (N, k)."""

    def __init__(self, sigma: float, ramp_steps: int = 0) -> None:
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
            raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
        _int_in("ramp_steps", ramp_steps, 0)
        self.sigma, self.ramp_steps = float(sigma), ramp_steps
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def current_sigma(self) -> float:
        """The noise std the next training call uses."""
        return self.sigma * (min(1.0, int(self.steps) / self.ramp_steps) if self.ramp_steps else 1.0)

    def forward(self, a: Tensor) -> Tensor:
        if self.training and self.sigma > 0:
            a = a + self.current_sigma() * torch.randn_like(a)
            self.steps += 1
        return torch.sigmoid(a)


def hashing_autoencoder(input_dim: int, hidden: list[int], n_bits: int, sigma: float,
                        ramp_steps: int = 0) -> Autoencoder:
    """input_dim -> *hidden -> n_bits [Centre, NoisySigmoid] -> *reversed(hidden) -> input_dim
    [sigmoid]: a semantic-hashing autoencoder (DLB §14.9; ``salakhutdinov2009semantic``), ReLU
    hidden units. ``sigma=0`` gives the same architecture without noise."""
    _int_in("n_bits", n_bits, 1, 64)  # one machine word
    encoder = nn.Sequential(*mlp([input_dim, *hidden, n_bits]), Centre(n_bits), NoisySigmoid(sigma, ramp_steps))
    decoder = mlp([n_bits, *reversed(list(hidden)), input_dim], out_activation=nn.Sigmoid)
    return Autoencoder(encoder, decoder)


def near_binary_fraction(h: Array | Tensor, tol: float = 0.1) -> float:
    """Fraction of code activations within ``tol`` of 0 or of 1 (mean over all N*k entries)."""
    h = _codes(h)
    if not 0 < tol < 0.5:
        raise ValueError(f"tol must be in (0, 0.5), got {tol!r}")
    return float(((h <= tol) | (h >= 1 - tol)).mean())


def binarize(h: Array | Tensor, threshold: float = 0.5) -> Array:
    """Bits h > threshold: (N, B) bool. Semantic hashing's final step (``salakhutdinov2009semantic``)."""
    return _codes(h) > threshold


def pack_bits(bits: Array) -> Array:
    """Pack (N, B) bools, B <= 64, into (N,) words of the smallest unsigned type that holds B bits:
    each row read as a B-bit binary number, bit 0 the most significant (via np.packbits)."""
    if not isinstance(bits, np.ndarray) or bits.dtype != bool or bits.ndim != 2 or not 1 <= bits.shape[1] <= 64:
        raise ValueError(f"bits must be an (N, B) bool array, 1 <= B <= 64, got "
                         f"{getattr(bits, 'dtype', type(bits).__name__)} {getattr(bits, 'shape', '')}")
    packed = np.packbits(bits, axis=1)                            # (N, ceil(B/8)) uint8, zero-padded
    size = next(s for s in _WORD if s >= packed.shape[1])
    padded = np.zeros((len(bits), size), np.uint8)
    padded[:, size - packed.shape[1]:] = packed                   # left-pad to a whole word
    words = padded.view(f">u{size}").ravel().astype(_WORD[size])  # (N,) native byte order
    return words >> _WORD[size](8 * packed.shape[1] - bits.shape[1])  # drop packbits' padding


def popcount(x: Array) -> Array:
    """Number of set bits of each unsigned word, by a 65,536-entry lookup table per 16 bits: uint8."""
    x = _words(x, "x", any_shape=True)
    if x.dtype == np.uint8:
        return _POPCOUNT16[x]
    count = np.zeros(x.shape, np.uint8)
    for shift in range(0, 8 * x.dtype.itemsize, 16):
        count += _POPCOUNT16[(x >> x.dtype.type(shift)) & x.dtype.type(0xFFFF)]
    return count


def hamming_distances(query: Array, db: Array) -> Array:
    """Hamming distances popcount(q XOR d) between packed codes: (Q,) and (N,) words -> (Q, N) uint8."""
    q, d = _words(query, "query"), _words(db, "db")
    if q.dtype != d.dtype:
        raise TypeError(f"query and db words must have one dtype, got {q.dtype} and {d.dtype}")
    return popcount(q[:, None] ^ d[None, :])


def knn_hamming(query: Array, db: Array, k: int, chunk: int = 256) -> Array:
    """k nearest packed codes by brute-force Hamming distance: (Q, k) int64, nearest first, ties by
    lower database index (a stable radix sort of the small integer distances)."""
    q, d = _words(query, "query"), _words(db, "db")
    _int_in("k", k, 1, len(d))
    return np.concatenate([np.argsort(hamming_distances(q[s:s + chunk], d), axis=1, kind="stable")[:, :k]
                           for s in range(0, len(q), chunk)]).astype(np.int64)


def flip_masks(n_bits: int, distance: int) -> Array:
    """Every packed word with exactly ``distance`` of the ``n_bits`` code bits set: (C(B, r),)."""
    _int_in("n_bits", n_bits, 1, 64)
    _int_in("distance", distance, 0, n_bits)
    combinations = list(itertools.combinations(range(n_bits), distance))
    on = np.array(combinations, np.int64).reshape(len(combinations), distance)
    rows = np.zeros((len(on), n_bits), bool)                      # (C(B, r), B)
    rows[np.arange(len(on))[:, None], on] = True
    return pack_bits(rows)


class HammingIndex:
    """Semantic hashing's lookup (``salakhutdinov2009semantic``; DLB §14.9): a table from each
    distinct code to the items that have it. A query probes the addresses within Hamming radius r
    of its own code, C(B, 0) + ... + C(B, r) probes; no other item is touched, so the cost depends
    on r, B and the number of items returned, not on the size of the database. The table is a
    sorted array of the distinct codes searched by bisection (log of their number per probe)."""

    def __init__(self, db: Array, n_bits: int) -> None:
        self.db = _words(db, "db")
        _int_in("the number of codes in db", len(self.db), 1)
        _int_in("n_bits", n_bits, 1, 8 * self.db.dtype.itemsize)
        self.n_bits = n_bits
        self.order = np.argsort(self.db, kind="stable")             # (N,) items grouped by code
        self.keys, self.starts, sizes = np.unique(self.db[self.order], return_index=True, return_counts=True)
        self.ends = self.starts + sizes
        self._masks: dict[int, Array] = {}

    def shell(self, query: Array, distance: int) -> list[Array]:
        """Items at Hamming distance exactly ``distance`` from each query, ascending index."""
        q = _words(query, "query")
        if q.dtype != self.db.dtype:
            raise TypeError(f"query words are {q.dtype}, the index holds {self.db.dtype}")
        if distance not in self._masks:
            self._masks[distance] = flip_masks(self.n_bits, distance)
        probes = q[:, None] ^ self._masks[distance][None, :]                     # (Q, M)
        pos = np.minimum(np.searchsorted(self.keys, probes), len(self.keys) - 1)
        owner, slot = np.nonzero(self.keys[pos] == probes)                       # hits, by query
        bucket = pos[owner, slot]
        sizes = self.ends[bucket] - self.starts[bucket]
        first = np.repeat(self.starts[bucket] - np.cumsum(sizes) + sizes, sizes)
        items = self.order[first + np.arange(sizes.sum())]                       # all hits, flat
        who = np.repeat(owner, sizes)
        items = items[np.lexsort((items, who))]
        return np.split(items, np.cumsum(np.bincount(who, minlength=len(q)))[:-1])

    def ball(self, query: Array, radius: int) -> list[Array]:
        """Items within Hamming distance ``radius`` of each query (nearest shells first)."""
        shells = [self.shell(query, r) for r in range(radius + 1)]
        return [np.concatenate(s) for s in zip(*shells)]

    def knn(self, query: Array, k: int, max_radius: int = 2) -> Array:
        """k nearest items by Hamming distance, probing shells r = 0, 1, ..., max_radius until k are
        found: (Q, k) int64, ties by lower index as in ``knn_hamming``; -1 where fewer than k lie
        within ``max_radius`` (shell r costs C(B, r) probes: keep it small)."""
        q = _words(query, "query")
        _int_in("k", k, 1, len(self.db))
        out, filled = np.full((len(q), k), -1, np.int64), np.zeros(len(q), np.int64)
        todo = np.arange(len(q))
        for r in range(max_radius + 1):
            for i, items in zip(todo, self.shell(q[todo], r)):
                take = items[:k - filled[i]]
                out[i, filled[i]:filled[i] + len(take)] = take
                filled[i] += len(take)
            todo = todo[filled[todo] < k]
            if len(todo) == 0:
                break
        return out


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones
    (time.perf_counter): robust to a loaded machine's occasional slow run."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    _int_in("repeats", repeats, 1)
    _int_in("warmup", warmup, 0)
    times = []
    for _ in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times[warmup:]))

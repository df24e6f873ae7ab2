"""aebook.retrieval: float kNN and precision@k, the semantic-hashing code layer, bit packing,
Hamming distances and the Hamming-ball index, each against an independent reference."""
import math
import time

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from aebook import retrieval
from aebook.retrieval import (Centre, HammingIndex, NoisySigmoid, binarize, flip_masks,
                              hamming_distances, hashing_autoencoder, knn, knn_hamming, median_seconds,
                              near_binary_fraction, neighbour_precision, pack_bits, popcount,
                              precision_at_k)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _bits(n, b, seed=0, p=0.5):
    return _rng(seed).random((n, b)) < p


def _hamming_reference(bq, bd):
    """Hamming distances from unpacked bools: (Q, B), (N, B) -> (Q, N)."""
    return (bq[:, None, :] != bd[None, :, :]).sum(-1)


# --- float retrieval ---------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_matches_scikit_learn(metric):
    q, db = _rng(1).normal(size=(40, 6)), _rng(2).normal(size=(300, 6))
    ours = knn(q, db, k=7, metric=metric, chunk=16)  # several chunks
    ref = NearestNeighbors(n_neighbors=7, metric=metric, algorithm="brute").fit(db).kneighbors(q)[1]
    assert ours.shape == (40, 7) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours, ref)


def test_knn_takes_tensors_and_k_equal_to_database_size():
    q, db = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.randn(9, 3)
    full = knn(q, db, k=9)
    dist = torch.cdist(q, db).numpy()
    np.testing.assert_array_equal(full, np.argsort(dist, axis=1))
    assert sorted(full[0]) == list(range(9))


@pytest.mark.parametrize("args, error", [
    ((np.zeros((3, 2)), np.zeros((5, 3)), 1), ValueError),   # widths differ
    ((np.zeros((3, 2)), np.zeros((5, 2)), 0), ValueError),   # k too small
    ((np.zeros((3, 2)), np.zeros((5, 2)), 6), ValueError),   # k > database
    ((np.zeros((3, 2)), np.zeros((5, 2)), True), ValueError),
    ((np.zeros(3), np.zeros((5, 3)), 1), ValueError),        # 1-D query
    (([[0.0, 1.0]], np.zeros((5, 2)), 1), TypeError),        # a list
    ((np.array([[0.0, np.nan]]), np.zeros((5, 2)), 1), ValueError),  # NaN query: arbitrary neighbours
    ((np.zeros((3, 2)), np.full((5, 2), np.inf), 1), ValueError),
])
def test_knn_rejects_bad_input(args, error):
    with pytest.raises(error):
        knn(*args)
    if error is ValueError and not np.isfinite(np.concatenate([args[0].ravel(), args[1].ravel()])).all():
        with pytest.raises(ValueError, match="holds NaN"):
            knn(*args)
    with pytest.raises(ValueError, match="metric"):
        knn(np.zeros((2, 2)), np.zeros((4, 2)), 1, metric="manhattan")


def test_precision_at_k_matches_a_loop():
    rng = _rng(3)
    q, db = rng.normal(size=(30, 4)), rng.normal(size=(200, 4))
    yq, yd = rng.integers(0, 3, 30), rng.integers(0, 3, 200)
    expected = np.mean([np.mean(yd[np.argsort(((db - x) ** 2).sum(1))[:5]] == y) for x, y in zip(q, yq)])
    assert precision_at_k(q, yq, db, yd, k=5) == pytest.approx(expected)
    as_tensors = torch.from_numpy(q), torch.from_numpy(yq), db, torch.from_numpy(yd)
    assert precision_at_k(*as_tensors, k=5) == pytest.approx(expected)


def test_precision_is_one_for_separated_clusters_and_chance_for_noise():
    rng = _rng(4)
    centres = 100 * np.eye(5)
    yd, yq = np.repeat(np.arange(5), 40), np.arange(5).repeat(4)
    db, q = centres[yd] + rng.normal(size=(200, 5)), centres[yq] + rng.normal(size=(20, 5))
    assert precision_at_k(q, yq, db, yd, k=10) == 1.0
    noise = rng.normal(size=(20, 5))  # queries unrelated to their labels: precision near 1/5
    assert abs(precision_at_k(noise, yq, db, yd, k=40) - 0.2) < 0.1


def test_neighbour_precision_counts_missing_items_as_misses_and_checks_input():
    yd, yq = np.array([0, 1, 1]), np.array([1])
    assert neighbour_precision(np.array([[1, 2, -1, 0]]), yq, yd) == 0.5
    with pytest.raises(ValueError, match="indices"):
        neighbour_precision(np.array([[3]]), yq, yd)
    with pytest.raises(ValueError, match="query_labels"):
        neighbour_precision(np.array([[0], [1]]), yq, yd)
    with pytest.raises(ValueError, match="db_labels"):
        neighbour_precision(np.array([[0]]), yq, yd.astype(float))
    with pytest.raises(ValueError, match="neighbours"):
        neighbour_precision(np.array([0]), yq, yd)


# --- the code layer ----------------------------------------------------------------------------

def test_centre_removes_the_batch_mean_and_tracks_it_for_eval():
    layer = Centre(3, momentum=0.5)
    a = torch.randn(64, 3) + torch.tensor([5.0, -2.0, 0.0])
    out = layer(a)
    torch.testing.assert_close(out.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(layer.running_mean, 0.5 * a.mean(0))
    layer.eval()
    torch.testing.assert_close(layer(a), a - 0.5 * a.mean(0))
    with pytest.raises(ValueError):
        Centre(0)
    with pytest.raises(ValueError):
        Centre(3, momentum=0.0)


def test_noisy_sigmoid_is_plain_sigmoid_in_eval_and_adds_ramped_noise_in_training():
    torch.manual_seed(0)
    layer = NoisySigmoid(sigma=0.5, ramp_steps=4)
    a = torch.randn(20_000, 4)
    layer.eval()
    torch.testing.assert_close(layer(a), torch.sigmoid(a))
    layer.train()
    sigmas = []
    for _ in range(6):
        sigmas.append(layer.current_sigma())
        h = layer(a).double()
        noise = torch.log(h / (1 - h)) - a.double()   # logit(h) - a = sigma_t * eps
        assert float(noise.std()) == pytest.approx(sigmas[-1], abs=0.01)
    assert sigmas == pytest.approx([0.0, 0.125, 0.25, 0.375, 0.5, 0.5])
    assert NoisySigmoid(2.0).current_sigma() == 2.0  # no ramp: full noise at once
    for bad in [(-1.0, 0), (1.0, -1), (1.0, 2.5), (True, 0)]:
        with pytest.raises(ValueError):
            NoisySigmoid(*bad)


def test_hashing_autoencoder_shapes_and_range():
    model = hashing_autoencoder(20, [8], n_bits=5, sigma=0.0)
    x = torch.rand(7, 20)
    h = model.encode(x)
    assert h.shape == (7, 5) and model(x).shape == (7, 20)
    assert bool(((h > 0) & (h < 1)).all())
    torch.testing.assert_close(model.encode(x), h)  # sigma = 0: deterministic even in training
    with pytest.raises(ValueError):
        hashing_autoencoder(20, [8], n_bits=65, sigma=1.0)


def test_near_binary_fraction_and_binarize():
    h = np.array([[0.0, 0.05, 0.5], [0.95, 1.0, 0.11]])
    assert near_binary_fraction(h) == pytest.approx(4 / 6)
    assert near_binary_fraction(h, tol=0.12) == pytest.approx(5 / 6)
    np.testing.assert_array_equal(binarize(h), [[False, False, False], [True, True, False]])
    np.testing.assert_array_equal(binarize(torch.tensor(h), threshold=0.04), h > 0.04)
    with pytest.raises(ValueError):
        near_binary_fraction(h, tol=0.5)


# --- bits and Hamming distances -----------------------------------------------------------------

@pytest.mark.parametrize("b, dtype", [(1, np.uint8), (8, np.uint8), (9, np.uint16), (20, np.uint32),
                                      (32, np.uint32), (33, np.uint64), (64, np.uint64)])
def test_pack_bits_reads_each_row_as_a_binary_number(b, dtype):
    bits = _bits(50, b, seed=b)
    words = pack_bits(bits)
    assert words.dtype == dtype and words.shape == (50,)
    expected = [int("".join("1" if v else "0" for v in row), 2) for row in bits]
    assert [int(w) for w in words] == expected


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros((2, 65), bool), np.zeros(3, bool), [[True]]])
def test_pack_bits_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        pack_bits(bad)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_popcount_matches_python(dtype):
    info = np.iinfo(dtype)
    x = _rng(5).integers(0, info.max, size=(10, 30), dtype=dtype, endpoint=True)
    x[0, :2] = [0, info.max]
    counts = popcount(x)
    assert counts.shape == x.shape
    assert counts.ravel().tolist() == [bin(int(v)).count("1") for v in x.ravel()]
    with pytest.raises(TypeError):
        popcount(x.astype(np.int64))


@pytest.mark.parametrize("b", [7, 32, 50])
def test_hamming_distances_and_knn_hamming_match_unpacked_bits(b):
    bq, bd = _bits(13, b, seed=6), _bits(200, b, seed=7)
    dist = hamming_distances(pack_bits(bq), pack_bits(bd))
    reference = _hamming_reference(bq, bd)
    np.testing.assert_array_equal(dist, reference)
    nearest = knn_hamming(pack_bits(bq), pack_bits(bd), k=10, chunk=4)
    # nearest first, ties by lower index: a lexicographic sort on (distance, index)
    expected = np.array([np.lexsort((np.arange(200), row))[:10] for row in reference])
    np.testing.assert_array_equal(nearest, expected)


def test_hamming_functions_reject_bad_input():
    w = pack_bits(_bits(4, 12))
    with pytest.raises(TypeError):
        hamming_distances(w, w.astype(np.uint32))
    with pytest.raises(TypeError):
        hamming_distances(w.astype(np.float64), w)
    with pytest.raises(ValueError):
        knn_hamming(w, w, k=5)


@pytest.mark.parametrize("b, r", [(6, 0), (6, 2), (10, 3), (32, 2)])
def test_flip_masks_enumerates_every_word_of_weight_r(b, r):
    masks = flip_masks(b, r)
    assert len(masks) == math.comb(b, r) == len(np.unique(masks))
    assert (popcount(masks) == r).all()
    assert int(masks.max(initial=0)) < 2 ** b
    for bad in [(0, 0), (65, 1), (5, 6), (5, -1)]:
        with pytest.raises(ValueError):
            flip_masks(*bad)


# --- the Hamming-ball index ---------------------------------------------------------------------

def _clustered_codes(b=10, n=400, seed=8):
    """Codes near a few centres, so that balls hold many items and codes repeat."""
    rng = _rng(seed)
    centres = rng.random((4, b)) < 0.5
    flips = rng.random((n, b)) < 0.1
    return centres[rng.integers(0, 4, n)] ^ flips


@pytest.mark.parametrize("radius", [0, 1, 3])
def test_ball_returns_exactly_the_items_within_the_radius(radius):
    bd, bq = _clustered_codes(), _clustered_codes(n=20, seed=9)
    index = HammingIndex(pack_bits(bd), 10)
    reference = _hamming_reference(bq, bd)
    for i, items in enumerate(index.ball(pack_bits(bq), radius)):
        expected = np.flatnonzero(reference[i] <= radius)
        expected = expected[np.argsort(reference[i, expected], kind="stable")]  # shells in order
        np.testing.assert_array_equal(items, expected)
    for i, items in enumerate(index.shell(pack_bits(bq), radius)):
        np.testing.assert_array_equal(items, np.flatnonzero(reference[i] == radius))


def test_index_knn_equals_brute_force_and_pads_when_the_radius_is_too_small():
    bd, bq = _clustered_codes(), _clustered_codes(n=20, seed=10)
    wd, wq = pack_bits(bd), pack_bits(bq)
    index = HammingIndex(wd, 10)
    np.testing.assert_array_equal(index.knn(wq, k=15, max_radius=10), knn_hamming(wq, wd, k=15))
    far = HammingIndex(pack_bits(np.zeros((5, 10), bool)), 10)  # every item at distance 10 from all-ones
    ones = pack_bits(np.ones((1, 10), bool))
    assert (far.knn(ones, k=3, max_radius=2) == -1).all()
    np.testing.assert_array_equal(far.knn(ones, k=3, max_radius=10), [[0, 1, 2]])


def test_index_rejects_bad_input():
    w = pack_bits(_bits(5, 10))
    with pytest.raises(ValueError):
        HammingIndex(w[:0], 10)
    with pytest.raises(ValueError):
        HammingIndex(w, 17)  # uint16 words hold 16 bits
    with pytest.raises(TypeError):
        HammingIndex(w.astype(np.int64), 10)
    index = HammingIndex(w, 10)
    with pytest.raises(TypeError):
        index.ball(w.astype(np.uint32), 1)
    with pytest.raises(ValueError):
        index.knn(w, k=6)


# --- timing ------------------------------------------------------------------------------------

def test_median_seconds_skips_warmup_and_takes_the_median():
    delays = iter([0.2, 0.0, 0.09, 0.0])  # warm-up 0.2 s, then three timed calls: median 0, mean 0.03

    def fn():
        time.sleep(next(delays))

    assert median_seconds(fn, repeats=3, warmup=1) < 0.02
    assert median_seconds(lambda: time.sleep(0.01), repeats=3, warmup=0) >= 0.01
    with pytest.raises(TypeError):
        median_seconds(None)
    for bad in [dict(repeats=0), dict(warmup=-1), dict(repeats=2.0)]:
        with pytest.raises(ValueError):
            median_seconds(fn, **bad)


def test_module_has_its_citations():
    assert "§14.9" in retrieval.__doc__ and "salakhutdinov2009semantic" in retrieval.__doc__


def test_codes_with_nan_are_rejected_not_read_as_zero_bits():
    """NaN > 0.5 is False: a NaN code used to become the all-zero address."""
    for fn in (binarize, near_binary_fraction):
        with pytest.raises(ValueError, match="codes holds NaN"):
            fn(np.array([[np.nan, 0.7]]))

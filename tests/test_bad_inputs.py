"""Bad input to every function of ``aebook.__all__``: a NaN, an empty batch, integers, a wrong shape,
an out-of-range level, a device mismatch. Each gives a ValueError or TypeError that names the
argument, or a documented result (checked here too). The topic modules' functions meet the same
cases in their own test files (tests/test_<module>.py).

A device mismatch is simulated with a ``meta`` tensor next to a CPU one. Functions that take a
model move x to the model's device by design (documented), so for them there is no mismatch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import aebook

NAN = float("nan")


def x_(n: int = 4, d: int = 6, value: float | None = None, **kwargs) -> torch.Tensor:
    t = torch.rand(n, d, generator=torch.Generator().manual_seed(0), **kwargs)
    if value is not None:
        t[0, 0] = value
    return t


def model(d: int = 6) -> nn.Module:
    torch.manual_seed(0)
    return aebook.mlp_autoencoder(d, [5], 2)


def with_nan(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = NAN
    return t


# (function, case, call, exception, message pattern); exception None: the call must return and
# ``check`` (the pattern slot) is a function of the result that states the documented behaviour.
CASES = [
    # losses: per batch, so no value checks (NaN propagates, documented) but dtype/shape/device
    ("sum_squared_error", "nan", lambda: aebook.sum_squared_error(with_nan(x_()), x_()), None,
     lambda out: math.isnan(float(out))),
    ("sum_squared_error", "empty", lambda: aebook.sum_squared_error(x_(0), x_(0)), ValueError, "non-empty"),
    ("sum_squared_error", "int", lambda: aebook.sum_squared_error(x_(), x_().long()), TypeError, "x must be a floating"),
    ("sum_squared_error", "shape", lambda: aebook.sum_squared_error(x_(), x_(d=5)), ValueError, "r and x"),
    ("sum_squared_error", "device", lambda: aebook.sum_squared_error(x_(), x_(device="meta")), ValueError, "r on cpu, x on meta"),
    ("bce_logits", "nan target", lambda: aebook.bce_logits(x_(), with_nan(x_())), ValueError, r"x must lie in \[0, 1\]"),
    ("bce_logits", "out of range", lambda: aebook.bce_logits(x_(), 3 * x_()), ValueError, r"x must lie in \[0, 1\]"),
    ("bce_logits", "empty", lambda: aebook.bce_logits(x_(0), x_(0)), ValueError, "non-empty"),
    ("bce_logits", "int", lambda: aebook.bce_logits(x_().long(), x_()), TypeError, "logits must be a floating"),
    ("bce_logits", "shape", lambda: aebook.bce_logits(x_(), x_(d=5)), ValueError, "logits and x"),
    ("bce_logits", "device", lambda: aebook.bce_logits(x_(device="meta"), x_()), ValueError, "logits on meta"),
    ("squared_error", "int", lambda: aebook.squared_error(model(), x_().long()), TypeError, "x must be a floating"),
    ("bernoulli_nll", "int", lambda: aebook.bernoulli_nll(model(), x_().long()), TypeError, "x must be a floating"),
    ("bernoulli_nll", "out of range", lambda: aebook.bernoulli_nll(model(), x_() - 1), ValueError, r"\[0, 1\]"),
    # metrics
    ("fit_pca", "nan", lambda: aebook.fit_pca(with_nan(x_()), 2), ValueError, "x holds NaN"),
    ("fit_pca", "empty", lambda: aebook.fit_pca(x_(0), 1), ValueError, "non-empty"),
    ("fit_pca", "int", lambda: aebook.fit_pca(x_().long(), 2), TypeError, "x must be a floating"),
    ("fit_pca", "shape", lambda: aebook.fit_pca(x_()[0], 1), ValueError, "2-D"),
    ("fit_pca", "out of range", lambda: aebook.fit_pca(x_(), 4), ValueError, "k must be an int in 1..3"),
    ("PCA", "device", lambda: aebook.fit_pca(x_(), 2).encode(x_(device="meta")), ValueError, "x on meta"),
    ("PCA", "shape", lambda: aebook.fit_pca(x_(), 2).decode(x_()), ValueError, r"h must be an \(N, 2\)"),
    ("principal_angles", "nan", lambda: aebook.principal_angles(with_nan(x_(6, 2)), x_(6, 2)), ValueError, "a holds NaN"),
    ("principal_angles", "int", lambda: aebook.principal_angles(x_(6, 2), x_(6, 2).long()), TypeError, "b must be"),
    ("principal_angles", "shape", lambda: aebook.principal_angles(x_(6, 2), x_(5, 2)), ValueError, "one N and D"),
    ("principal_angles", "empty", lambda: aebook.principal_angles(x_(6, 0), x_(6, 2)), ValueError, "non-empty"),
    ("principal_angles", "device", lambda: aebook.principal_angles(x_(6, 2), x_(6, 2, device="meta")), ValueError,
     "b on meta"),
    ("per_example_squared_error", "nan", lambda: aebook.per_example_squared_error(model(), with_nan(x_())), None,
     lambda out: bool(out[0].isnan()) and bool(out[1:].isfinite().all())),  # documented: that row is NaN
    ("per_example_squared_error", "empty", lambda: aebook.per_example_squared_error(model(), x_(0)), ValueError, "non-empty"),
    ("per_example_squared_error", "int", lambda: aebook.per_example_squared_error(model(), x_().long()), TypeError, "x must"),
    ("per_example_squared_error", "shape", lambda: aebook.per_example_squared_error(model(), x_()[0]), ValueError, "2-D"),
    ("per_example_squared_error", "batch size", lambda: aebook.per_example_squared_error(model(), x_(), 0), ValueError, "batch_size"),
    ("encode", "empty", lambda: aebook.encode(model(), x_(0)), ValueError, "non-empty"),
    ("encode", "int", lambda: aebook.encode(model(), x_().int()), TypeError, "x must"),
    ("encode", "no parameters", lambda: aebook.encode(aebook.Autoencoder(nn.Identity(), nn.Identity()), x_()),
     TypeError, "no parameters"),
    ("pass_through", "nan", lambda: aebook.pass_through(model(), with_nan(x_())), ValueError, "x holds NaN"),
    ("pass_through", "out of range", lambda: aebook.pass_through(model(), x_(), sigma=NAN), ValueError, "sigma"),
    ("pass_through", "int", lambda: aebook.pass_through(model(), x_().long()), TypeError, "x must"),
    # training
    ("fit", "nan", lambda: aebook.fit(model(), with_nan(x_()), progress=False), ValueError, "x_train holds NaN"),
    ("fit", "empty", lambda: aebook.fit(model(), x_(0), progress=False), ValueError, "x_train must be a non-empty"),
    ("fit", "int", lambda: aebook.fit(model(), x_().long(), progress=False), TypeError, "x_train must be a floating"),
    ("fit", "shape", lambda: aebook.fit(model(), x_(), x_test=x_(d=5), progress=False), ValueError, "x_test"),
    ("fit", "out of range", lambda: aebook.fit(model(), x_(), lr=NAN, progress=False), ValueError, "lr"),
    ("evaluate", "nan", lambda: aebook.evaluate(model(), with_nan(x_())), ValueError, "x holds NaN"),
    ("evaluate", "empty", lambda: aebook.evaluate(model(), x_(0)), ValueError, "non-empty"),
    ("evaluate", "int", lambda: aebook.evaluate(model(), x_().long()), TypeError, "x must"),
    ("set_seed", "type", lambda: aebook.set_seed(1.5), TypeError, "seed"),
    # claims (tests/test_claims.py has the full table)
    ("claim", "nan", lambda: aebook.claim("k", "s", figure=NAN, op="<", threshold=1.0, no_control="t"),
     ValueError, "figure must be finite"),
    ("claim", "shape", lambda: aebook.claim("k", "s", figure=x_(), op="<", threshold=1.0, no_control="t"),
     TypeError, "figure must be a scalar"),
    ("claim", "out of range", lambda: aebook.claim("k", "s", figure=0.5, op="=", threshold=1.0, no_control="t"),
     ValueError, "op must be one of"),
    ("measure", "nan", lambda: aebook.measure("k", NAN, "a figure"), ValueError, "value must be finite"),
    ("pick_device", "unknown", lambda: aebook.pick_device("gpu0"), ValueError, "unknown device"),
    # models
    ("mlp", "shape", lambda: aebook.mlp(784), TypeError, "sizes must be a sequence"),
    ("mlp", "out of range", lambda: aebook.mlp([784, 0]), ValueError, "positive ints"),
    ("mlp_autoencoder", "shape", lambda: aebook.mlp_autoencoder(784, 256, 32), TypeError, "hidden"),
    ("LinearAutoencoder", "out of range", lambda: aebook.LinearAutoencoder(4, 5), ValueError, "code_dim"),
    ("tied_autoencoder", "out of range", lambda: aebook.tied_autoencoder(4, 0), ValueError, "code_dim"),
    ("TiedDecoder", "type", lambda: aebook.TiedDecoder(nn.Conv1d(1, 1, 1)), TypeError, "encoder_linear"),
    ("Autoencoder", "type", lambda: aebook.Autoencoder(lambda x: x, nn.Identity()), TypeError, "nn.Module"),
    ("count_parameters", "type", lambda: aebook.count_parameters("model"), TypeError, "model"),
    ("eval_mode", "type", lambda: aebook.eval_mode("model").__enter__(), TypeError, "model"),
    # plotting: CPU numpy figures of floating, finite pixels
    ("tile_images", "nan", lambda: aebook.tile_images(with_nan(x_(2, 784)), 2), ValueError, "images hold NaN"),
    ("tile_images", "empty", lambda: aebook.tile_images(x_(0, 784), 2), ValueError, "N >= 1"),
    ("tile_images", "int", lambda: aebook.tile_images((255 * x_(2, 784)).to(torch.uint8), 2), TypeError, "floating"),
    ("tile_images", "shape", lambda: aebook.tile_images(x_(2, 700), 2), ValueError, "784"),
    ("image_grid", "nan", lambda: aebook.image_grid(with_nan(x_(2, 784))), ValueError, "NaN"),
    ("plot_reconstructions", "shape", lambda: aebook.plot_reconstructions(x_(2, 784), {"r": x_(3, 784)}), ValueError, "shape"),
    ("plot_reconstructions", "int", lambda: aebook.plot_reconstructions(x_(2, 784).long(), {"r": x_(2, 784).long()}),
     TypeError, "floating"),
    ("plot_codes", "nan", lambda: aebook.plot_codes(with_nan(x_(4, 2)), torch.arange(4)), ValueError, "h holds NaN"),
    ("plot_codes", "int", lambda: aebook.plot_codes(x_(4, 2), torch.rand(4)), TypeError, "labels"),
    ("plot_codes", "out of range", lambda: aebook.plot_codes(x_(4, 2), torch.arange(4), classes=["a"]), ValueError, "labels"),
    ("plot_history", "type", lambda: aebook.plot_history([1.0]), TypeError, "History"),
    # data and scale
    ("load_mnist", "out of range", lambda: aebook.load_mnist(n_train=True), ValueError, "subset size"),
    ("load_fashion_mnist", "out of range", lambda: aebook.load_fashion_mnist(n_test=0), ValueError, "subset size"),
    ("by_scale", "environment", lambda: aebook.by_scale(1, 2), None, lambda out: out in (1, 2)),
]

# Names of aebook.__all__ without a case, and why.
NOT_APPLICABLE = {
    "IMAGE_SHAPE": "a constant",
    "ImageData": "a plain record of tensors made by load_images",
    "History": "a plain record of per-epoch floats",
    "current_scale": "reads only the environment (tests/test_scale.py checks its bad values)",
    "current_seed": "takes no argument; returns what set_seed stored",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.parametrize("name, case, call, error, pattern", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_input(name, case, call, error, pattern, monkeypatch, tmp_path):
    monkeypatch.setenv("AEBOOK_DATA", str(tmp_path))  # the data cases fail before reading files
    if error is None:
        assert pattern(call()), f"{name} with {case}: not the documented result"
        return
    with pytest.raises(error, match=pattern):
        call()


def test_every_public_name_has_a_case_or_a_reason():
    covered = {c[0] for c in CASES} | set(NOT_APPLICABLE)
    assert set(aebook.__all__) - covered == set()


def test_device_mismatch_with_a_model_moves_x_as_documented():
    """fit, evaluate, encode and friends take x on any device and move it to the model's."""
    m = model()
    x = x_()
    assert aebook.encode(m, x).device == x.device
    assert np.isfinite(aebook.evaluate(m, x))

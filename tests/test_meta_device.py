"""Device-cleanliness without a GPU: every tensor-in, tensor-out public function of aebook, run on
inputs (and models) on PyTorch's ``meta`` device, must return its tensors on ``meta``.

A meta tensor has a shape, a dtype and a device but no values, so a function that makes a tensor
on the default device (``torch.arange(n)`` without ``device=``), copies a result to the CPU, or
combines its input with a CPU tensor fails here exactly as it would on a GPU. Functions that must
read values (an error check on the data, a Python float result) cannot run on ``meta``; they are
listed in ``EXCLUDED`` with the reason, and ``tests/test_device_lint.py`` covers their source.
"""
from __future__ import annotations

import functools

import pytest
import torch
from torch import Tensor, nn

import aebook
from aebook import corruption, depth, fields, jacobian, manifold, psd, retrieval, sparsity, toy
from aebook import vae as V

META = "meta"


def x_(n: int = 6, d: int = 4, dtype: torch.dtype = torch.float32) -> Tensor:
    return torch.empty(n, d, device=META, dtype=dtype)


def on_meta(module: nn.Module) -> nn.Module:
    return module.to(META)


def ae(d: int = 4, k: int = 2, **kwargs) -> aebook.Autoencoder:
    torch.manual_seed(0)
    return on_meta(aebook.mlp_autoencoder(d, [3], k, **kwargs))


def vae(d: int = 4, k: int = 2) -> V.VAE:
    torch.manual_seed(0)
    return on_meta(V.VAE(d, hidden=[3], latent_dim=k))


def ensemble() -> manifold.AutoencoderEnsemble:
    return on_meta(manifold.AutoencoderEnsemble(3, 2, [4], 1))


def tied() -> aebook.Autoencoder:
    return on_meta(aebook.tied_autoencoder(4, 2))


def psd_like() -> aebook.Autoencoder:
    """psd_model's architecture on meta (psd_model itself reads x's values to pick atoms)."""
    return on_meta(aebook.Autoencoder(psd.ShrinkageEncoder(4, 3), nn.Linear(3, 4, bias=False)))


# name -> a function of no arguments that calls the function under test on meta inputs.
CASES = {
    # losses
    "losses.sum_squared_error": lambda: aebook.sum_squared_error(x_(), x_()),
    "losses.bce_logits": lambda: aebook.bce_logits(x_(), x_()),
    "losses.squared_error": lambda: aebook.squared_error(ae(), x_()),
    "losses.bernoulli_nll": lambda: aebook.bernoulli_nll(ae(out_activation=None), x_()),
    # models
    "models.Autoencoder": lambda: ae()(x_()),
    "models.tied_autoencoder": lambda: tied()(x_()),
    # metrics
    "metrics.per_example_squared_error": lambda: aebook.per_example_squared_error(ae(), x_()),
    "metrics.encode": lambda: aebook.encode(ae(), x_()),
    "metrics.fit_pca": lambda: aebook.fit_pca(x_(), 2),
    "metrics.PCA.reconstruct": lambda: aebook.fit_pca(x_(), 2).reconstruct(x_()),
    # sparsity
    "sparsity.l1_penalty": lambda: sparsity.l1_penalty(x_(), 0.1),
    "sparsity.laplace_neg_log_prior": lambda: sparsity.laplace_neg_log_prior(x_(), 0.1),
    "sparsity.l1_loss": lambda: sparsity.l1_loss(0.1)(on_meta(sparsity.sparse_autoencoder(4, 3)), x_()),
    "sparsity.decoder_filters": lambda: sparsity.decoder_filters(on_meta(sparsity.sparse_autoencoder(4, 3))),
    "sparsity.filter_spread": lambda: sparsity.filter_spread(x_(3, 4)),
    "sparsity.mean_activation": lambda: sparsity.mean_activation(x_()),
    # corruption
    "corruption.additive_gaussian": lambda: corruption.additive_gaussian(x_(), 0.1),
    "corruption.masking": lambda: corruption.masking(x_(), 0.5),
    "corruption.salt_and_pepper": lambda: corruption.salt_and_pepper(x_(), 0.5),
    "corruption.denoising_loss": lambda: corruption.denoising_loss(
        functools.partial(corruption.masking, p=0.5))(ae(), x_()),
    # jacobian
    "jacobian.sigmoid_jacobian_sq_norm": lambda: jacobian.sigmoid_jacobian_sq_norm(x_(6, 2), x_(2, 4)),
    "jacobian.closed_form_sq_norm": lambda: jacobian.closed_form_sq_norm(tied().encoder, x_()),
    "jacobian.jacobian": lambda: jacobian.jacobian(ae(), x_()),
    "jacobian.jacobian_sq_norm": lambda: jacobian.jacobian_sq_norm(ae(), x_()),
    "jacobian.contractive_penalty": lambda: jacobian.contractive_penalty(ae(), x_(), method="autograd"),
    "jacobian.contractive_loss": lambda: jacobian.contractive_loss(0.1)(tied(), x_()),
    "jacobian.jacobian_singular_values": lambda: jacobian.jacobian_singular_values(ae(), x_()),
    "jacobian.tangent_directions": lambda: jacobian.tangent_directions(ae(), x_(), 1),
    "jacobian.noisy_reconstruction_error": lambda: jacobian.noisy_reconstruction_error(ae(), x_(), 0.1, 2),
    # fields
    "fields.reconstruction_field": lambda: fields.reconstruction_field(ae(2, 1), x_(6, 2)),
    "toy.GaussianMixture2D.log_prob": lambda: toy.gaussian_mixture().log_prob(x_(6, 2)),
    "toy.GaussianMixture2D.score": lambda: toy.gaussian_mixture().score(x_(6, 2)),
    # depth
    "depth.sigmoid_output": lambda: depth.sigmoid_output(ae())(x_()),
    "depth.signal_spread": lambda: depth.signal_spread(ae(), x_()),
    # vae
    "vae.VAE.posterior": lambda: vae().posterior(x_()),
    "vae.VAE.decode_mean": lambda: vae().decode_mean(x_(6, 2)),
    "vae.VAE.sample": lambda: vae().sample(5),
    "vae.reparameterize": lambda: V.reparameterize(x_(), x_()),
    "vae.kl_standard_normal": lambda: V.kl_standard_normal(x_(), x_()),
    "vae.gaussian_log_prob": lambda: V.gaussian_log_prob(x_(), x_(), x_()),
    "vae.bernoulli_log_prob": lambda: V.bernoulli_log_prob(x_(), x_()),
    "vae.elbo_terms": lambda: V.elbo_terms(vae(), x_()),
    "vae.elbo_loss": lambda: V.elbo_loss(vae(), x_()),
    "vae.pixel_mean_elbo_loss": lambda: V.pixel_mean_elbo_loss(vae(), x_()),
    "vae.binarize": lambda: V.binarize(x_()),
    "vae.binarized": lambda: V.binarized(V.elbo_loss)(vae(), x_()),
    "vae.log_weights": lambda: V.log_weights(vae(), x_(), 3),
    "vae.evaluate_bounds": lambda: V.evaluate_bounds(vae(), x_(), n_samples=2),
    "vae.interpolate": lambda: V.interpolate(x_(1, 3)[0], x_(1, 3)[0], 4),
    # manifold
    "manifold.AutoencoderEnsemble": lambda: ensemble()(x_(6, 2)),
    "manifold.ensemble_squared_error": lambda: manifold.ensemble_squared_error(ensemble(), x_(6, 2)),
    "manifold.member_errors": lambda: manifold.member_errors(ensemble(), x_(6, 2)),
    "manifold.reconstruction_jacobian": lambda: manifold.reconstruction_jacobian(ae(), x_()),
    "manifold.decoder_tangents": lambda: manifold.decoder_tangents(ae(), x_()),
    "manifold.jacobian_tangents": lambda: manifold.jacobian_tangents(ae(), x_(), 1),
    "manifold.nearest_on_manifold": lambda: manifold.nearest_on_manifold(x_(), x_(9, 4)),
    "manifold.knn_edges": lambda: manifold.knn_edges(x_(), 2),
    # psd
    "psd.orient_atoms": lambda: psd.orient_atoms(x_()),
    "psd.soft_threshold": lambda: psd.soft_threshold(x_(), 0.1),
    "psd.normalize_columns": lambda: psd.normalize_columns(x_()),
    "psd.objective": lambda: psd.objective(x_(6, 4), x_(4, 3), x_(6, 3), 0.1),
    "psd.sparse_code": lambda: psd.sparse_code(x_(6, 4), x_(4, 3), 0.1, n_iter=3, L=2.0).h,
    "psd.kkt_violation": lambda: psd.kkt_violation(x_(6, 4), x_(4, 3), x_(6, 3), 0.1),
    "psd.ShrinkageEncoder": lambda: psd_like().encode(x_()),
    "psd.psd_loss": lambda: psd.psd_loss(psd_like(), x_(), x_(6, 3), 1.0),
    # retrieval
    "retrieval.hashing_autoencoder": lambda: on_meta(retrieval.hashing_autoencoder(4, [3], 2, 0.0)).eval()(x_()),
}

# Public functions that cannot run on meta, and why. Each one's source is under the lint.
EXCLUDED = {
    "training.fit, training.evaluate": "return Python floats (the losses) and move data to the model",
    "metrics.pass_through, fields.weighted_mean_cosine, fields.weighted_relative_error, "
    "vae.frechet_distance, manifold.fold_jumps, manifold.spearman, psd.lipschitz, psd.relative_error, "
    "sparsity.fraction_inactive": "return a Python float",
    "metrics.principal_angles": "checks the rank of its inputs (reads values)",
    "jacobian.contraction_ratio": "rejects pairs at distance 0 (reads values)",
    "sparsity.bernoulli_kl, sparsity.kl_sparsity_penalty, sparsity.kl_loss": "check that codes lie in [0, 1]",
    "vae.active_units": "returns an int count",
    "vae.latent_grid, fields.grid_2d, toy.*": "take no tensor: they make points on the CPU, seeded",
    "psd.random_patches, psd.psd_model, psd.train_psd": "select patches or atoms by their values, "
                                                         "report floats",
    "retrieval.* (but the model), probe.probe_accuracy": "work on CPU numpy arrays, as documented",
    "plotting.*, views.*, explore.*, plot_* functions": "draw figures: CPU numpy, as documented",
    "data.*": "load files into CPU tensors",
}


def tensors(out: object) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in tensors(o)]
    if hasattr(out, "__dataclass_fields__"):
        return [t for name in out.__dataclass_fields__ for t in tensors(getattr(out, name))]
    return []


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_stay_on_the_input_device(name):
    out = tensors(CASES[name]())
    assert out, f"{name} returned no tensor"
    devices = sorted({t.device.type for t in out})
    assert devices == [META], f"{name} returned tensors on {devices}, its inputs were on meta"


def test_every_case_names_a_public_function():
    for name in CASES:
        module, attr = name.split(".")[:2]
        assert hasattr(getattr(aebook, module, None) or __import__(f"aebook.{module}", fromlist=[attr]), attr), name

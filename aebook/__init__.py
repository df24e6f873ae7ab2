"""aebook: the models, data and training utilities of an executable textbook on autoencoders,
chapter 14 of Deep Learning (Goodfellow, Bengio & Courville 2016).

Modules, each importing only those before it:
devices, idx -> scale -> data, toy -> models -> losses -> training -> claims -> metrics -> plotting.
The topic modules of the chapters (sparsity, corruption, jacobian, tangents, fields, probe,
sampling, depth, vae, manifold, sparse_coding, psd, lista, retrieval, timing) build on these;
views and explore, the interactive explorers, come last and import ipywidgets only when an
explorer is shown; webformat and webexport export those explorers to run in the static site's
pages. None of them is imported here.
"""
from .claims import claim, measure
from .data import IMAGE_SHAPE, ImageData, load_fashion_mnist, load_mnist
from .losses import bce_logits, bernoulli_nll, squared_error, sum_squared_error
from .metrics import PCA, encode, fit_pca, pass_through, per_example_squared_error, principal_angles
from .models import Autoencoder, LinearAutoencoder, TiedDecoder, count_parameters, eval_mode, mlp, mlp_autoencoder, tied_autoencoder
from .plotting import image_grid, plot_codes, plot_history, plot_reconstructions, tile_images
from .scale import by_scale, current_scale
from .training import History, current_seed, evaluate, fit, pick_device, set_seed

__version__ = "0.1.0"
__all__ = [
    "IMAGE_SHAPE", "ImageData", "load_fashion_mnist", "load_mnist",
    "bce_logits", "bernoulli_nll", "squared_error", "sum_squared_error",
    "PCA", "encode", "fit_pca", "pass_through", "per_example_squared_error", "principal_angles",
    "Autoencoder", "LinearAutoencoder", "TiedDecoder", "count_parameters", "eval_mode", "mlp", "mlp_autoencoder",
    "tied_autoencoder",
    "image_grid", "plot_codes", "plot_history", "plot_reconstructions", "tile_images",
    "by_scale", "current_scale",
    "History", "current_seed", "evaluate", "fit", "pick_device", "set_seed",
    "claim", "measure",
]

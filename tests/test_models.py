"""aebook.models: the Autoencoder, its MLP and linear forms, and the parameter count."""
import pytest
import torch
from torch import nn

from aebook.models import (Autoencoder, LinearAutoencoder, TiedDecoder, count_parameters, eval_mode, mlp,
                           mlp_autoencoder)


@pytest.fixture
def x():
    return torch.randn(5, 12, generator=torch.Generator().manual_seed(0))


def test_autoencoder_shapes_and_composition(x):
    torch.manual_seed(0)
    f, g = nn.Linear(12, 3), nn.Linear(3, 12)
    model = Autoencoder(f, g)
    h = model.encode(x)
    assert h.shape == (5, 3)
    assert model.decode(h).shape == (5, 12)
    torch.testing.assert_close(model(x), g(f(x)))
    assert model.encoder is f and model.decoder is g
    assert count_parameters(model) == count_parameters(f) + count_parameters(g)  # both registered


@pytest.mark.parametrize("parts", [(lambda x: x, nn.Identity()), (nn.Identity(), "decoder"), (None, None)])
def test_autoencoder_rejects_non_modules(parts):
    with pytest.raises(TypeError, match="nn.Module"):
        Autoencoder(*parts)


def test_mlp_structure():
    net = mlp([5, 4, 3, 2])
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 4), (4, 3), (3, 2)]
    net = mlp([5, 2], activation=nn.Tanh, out_activation=nn.Sigmoid)
    assert [type(m) for m in net] == [nn.Linear, nn.Sigmoid]
    net = mlp((5, 4, 2), activation=nn.Tanh)
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear]


@pytest.mark.parametrize("sizes", [[], [5], [5, 0], [5, -2, 3], [5, 2.5], ["5", 3], [5, True]])
def test_mlp_bad_sizes(sizes):
    with pytest.raises(ValueError):
        mlp(sizes)


def test_a_single_width_is_a_clear_error():
    """mlp(784) used to fail with "'int' object is not iterable"."""
    with pytest.raises(TypeError, match=r"sizes must be a sequence of layer widths, e\.g\. \[784, 256, 32\], got 784"):
        mlp(784)
    with pytest.raises(TypeError, match="hidden must be a sequence"):
        mlp_autoencoder(784, 256, 32)


def test_tied_decoder_bias_follows_the_encoder():
    linear = nn.Linear(4, 2, device="meta", dtype=torch.float64)
    bias = TiedDecoder(linear).bias
    assert bias.device.type == "meta" and bias.dtype == torch.float64


def test_mlp_autoencoder_shapes_and_sigmoid_range(x):
    torch.manual_seed(0)
    model = mlp_autoencoder(12, [8, 6], 3)
    enc = [(m.in_features, m.out_features) for m in model.encoder if isinstance(m, nn.Linear)]
    dec = [(m.in_features, m.out_features) for m in model.decoder if isinstance(m, nn.Linear)]
    assert enc == [(12, 8), (8, 6), (6, 3)] and dec == [(3, 6), (6, 8), (8, 12)]
    assert model.encode(x).shape == (5, 3) and model(x).shape == (5, 12)
    r = model(100 * x)  # large inputs drive the output units into saturation
    assert r.min() >= 0 and r.max() <= 1
    logits = mlp_autoencoder(12, [8, 6], 3, out_activation=None)
    out = logits(100 * x)
    assert out.min() < 0 or out.max() > 1  # without the sigmoid, outputs leave [0, 1]


def test_mlp_autoencoder_code_activation(x):
    model = mlp_autoencoder(12, [8], 2, code_activation=nn.Tanh)
    assert isinstance(model.encoder[-1], nn.Tanh)
    assert model.encode(100 * x).abs().max() <= 1


def test_linear_autoencoder_is_affine(x):
    torch.manual_seed(0)
    model = LinearAutoencoder(12, 3)
    assert model.decoder_weight.shape == (12, 3) and model.decoder_weight is model.decoder.weight
    a, b = x[:2], x[2:4]
    torch.testing.assert_close(model(0.3 * a + 0.7 * b), 0.3 * model(a) + 0.7 * model(b))
    # the reconstructions lie in the column space of W_d, shifted by b_d
    r = model(x) - model.decoder.bias
    coef = torch.linalg.lstsq(model.decoder_weight, r.T).solution
    torch.testing.assert_close(model.decoder_weight @ coef, r.T, atol=1e-5, rtol=0)


@pytest.mark.parametrize("code_dim", [0, -1, 13])
def test_linear_autoencoder_bad_code_dim(code_dim):
    with pytest.raises(ValueError, match="code_dim"):
        LinearAutoencoder(12, code_dim)


def test_count_parameters_by_hand():
    model = mlp_autoencoder(20, [16], 3)
    weights_and_biases = (20 * 16 + 16) + (16 * 3 + 3) + (3 * 16 + 16) + (16 * 20 + 20)
    assert count_parameters(model) == weights_and_biases
    assert count_parameters(LinearAutoencoder(10, 4)) == 2 * 10 * 4 + 4 + 10
    model.encoder.requires_grad_(False)  # only trainable parameters count
    assert count_parameters(model) == (3 * 16 + 16) + (16 * 20 + 20)


def test_eval_mode_restores_the_flag_even_on_error():
    model = mlp_autoencoder(4, [3], 2)
    model.train()
    with eval_mode(model) as m:
        assert m is model and not model.training
    assert model.training
    model.eval()
    with pytest.raises(RuntimeError), eval_mode(model):
        model.train()  # a body that changes the flag, then fails
        raise RuntimeError
    assert not model.training

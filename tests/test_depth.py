"""Tests for aebook.depth: parameter budgets, He initialisation, the sigmoid wrapper, signal spread."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import aebook
from aebook import depth


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("hidden", [[], [7], [13, 5], [1000, 500, 250]])
def test_autoencoder_parameters_matches_torch_count(hidden):
    model = aebook.mlp_autoencoder(784, hidden, 30)
    assert depth.autoencoder_parameters(784, hidden, 30) == aebook.count_parameters(model)


@pytest.mark.parametrize("bad", [dict(input_dim=0), dict(code_dim=-1), dict(hidden=[4, 0]), dict(hidden=[2.5])])
def test_autoencoder_parameters_rejects_bad_sizes(bad):
    kwargs = dict(input_dim=20, hidden=[4], code_dim=3) | bad
    with pytest.raises(ValueError):
        depth.autoencoder_parameters(**kwargs)


@pytest.mark.parametrize("shape", [(1,), (1, 1, 1), (4, 2, 1)])
@pytest.mark.parametrize("budget", [5_000, 40_000, 418_094])
def test_hidden_for_budget_is_the_closest_in_its_shape(shape, budget):
    hidden = depth.hidden_for_budget(budget, shape, input_dim=100, code_dim=5)
    assert len(hidden) == len(shape)
    best = depth.autoencoder_parameters(100, hidden, 5)
    # brute force over every first width: none of the networks of this shape is closer to the budget
    for first in range(1, 5000):
        widths = [max(1, round(first * r / shape[0])) for r in shape]
        assert abs(depth.autoencoder_parameters(100, widths, 5) - budget) >= abs(best - budget)


def test_hidden_for_budget_reproduces_a_one_layer_budget():
    budget = depth.autoencoder_parameters(784, [256], 30)
    assert depth.hidden_for_budget(budget, (1,)) == [256]


@pytest.mark.parametrize("budget, shape", [(0, (1,)), (10, (1,)), (10_000, ()), (10_000, (1, -1)), (10_000, "ab")])
def test_hidden_for_budget_rejects_bad_input(budget, shape):
    with pytest.raises(ValueError):
        depth.hidden_for_budget(budget, shape, input_dim=100, code_dim=5)


def test_he_init_gives_variance_two_over_fan_in_and_zero_bias():
    torch.manual_seed(0)
    model = depth.he_init_(nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 200)))
    for layer in (model[0], model[2]):
        fan_in = layer.weight.shape[1]
        assert layer.weight.var().item() == pytest.approx(2 / fan_in, rel=0.03)
        assert torch.count_nonzero(layer.bias) == 0


def test_he_init_rejects_bad_input():
    with pytest.raises(TypeError):
        depth.he_init_("not a module")
    with pytest.raises(ValueError):
        depth.he_init_(nn.ReLU())


def test_budget_autoencoder_outputs_logits_near_the_budget():
    torch.manual_seed(0)
    model = depth.budget_autoencoder(20_000, (1, 1), input_dim=50, code_dim=4)
    assert abs(aebook.count_parameters(model) - 20_000) < 2 * 50 + 200
    x = torch.rand(6, 50)
    assert model(x).shape == (6, 50)
    assert (model(x) < 0).any()  # logits, not probabilities
    with pytest.raises(ValueError):
        depth.budget_autoencoder(20_000, (1,), input_dim=50, code_dim=4, init="xavier")


def test_budget_autoencoder_default_init_is_pytorchs():
    torch.manual_seed(0)
    model = depth.budget_autoencoder(20_000, (1,), input_dim=50, code_dim=4, init="default")
    first = model.encoder[0]
    bound = 1 / first.in_features ** 0.5  # PyTorch's nn.Linear default: U(-bound, bound)
    assert first.weight.abs().max() <= bound and torch.count_nonzero(first.bias) > 0


def test_sigmoid_output_shares_parameters_and_applies_sigmoid():
    torch.manual_seed(0)
    model = depth.budget_autoencoder(5_000, (1,), input_dim=30, code_dim=3)
    wrapped = depth.sigmoid_output(model)
    x = torch.rand(4, 30)
    torch.testing.assert_close(wrapped(x), torch.sigmoid(model(x)))
    assert {id(p) for p in wrapped.parameters()} == {id(p) for p in model.parameters()}
    expected = ((torch.sigmoid(model(x)) - x) ** 2).sum(1)
    torch.testing.assert_close(aebook.per_example_squared_error(wrapped, x), expected.detach())
    with pytest.raises(TypeError):
        depth.sigmoid_output(nn.Linear(3, 3))


def test_signal_spread_matches_a_manual_forward_pass():
    torch.manual_seed(0)
    model = aebook.mlp_autoencoder(20, [8], 3, out_activation=None)
    x = torch.randn(50, 20)
    expected, a = [], x
    for layer in [*model.encoder, *model.decoder]:
        a = layer(a)
        if isinstance(layer, nn.Linear):
            expected.append(a.var(dim=0).mean().sqrt())
    torch.testing.assert_close(depth.signal_spread(model, x), torch.stack(expected).detach())
    assert model.training  # restored


def test_signal_spread_collapses_with_default_init_and_not_with_he():
    torch.manual_seed(0)
    model = aebook.mlp_autoencoder(200, [200, 200, 200], 200, out_activation=None)
    x = torch.randn(500, 200)
    default = depth.signal_spread(model, x)
    he = depth.signal_spread(depth.he_init_(model), x)
    assert default[-1] / default[0] < 0.01  # variance / 6 per ReLU layer, 6 ReLUs, /3 at the code
    assert 0.5 < he[-1] / he[0] < 3


def test_signal_spread_rejects_bad_input():
    model = aebook.mlp_autoencoder(5, [], 2)
    with pytest.raises(TypeError):
        depth.signal_spread(nn.Linear(5, 5), torch.rand(3, 5))
    with pytest.raises(ValueError):
        depth.signal_spread(model, torch.rand(1, 5))
    with pytest.raises(ValueError):
        depth.signal_spread(model, torch.rand(5))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        depth.signal_spread(model, torch.ones(3, 5, dtype=torch.long))


def test_signal_spread_comes_back_on_x_device():
    spread = depth.signal_spread(aebook.mlp_autoencoder(5, [4], 2).to("meta"), torch.empty(3, 5, device="meta"))
    assert spread.device.type == "meta" and spread.shape == (4,)  # was copied to the CPU


def test_plot_error_vs_parameters_draws_families_and_baselines():
    fig, ax = plt.subplots()
    out = depth.plot_error_vs_parameters({"a": ([10, 100], [3.0, 2.0]), "b": ([10, 100], [4.0, 1.0])},
                                         {"pca": (10, 5.0)}, ax=ax)
    assert out is ax
    assert len(ax.lines) == 4  # two families, one baseline marker and its dotted line
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError):
        depth.plot_error_vs_parameters({"a": ([10, 100], [3.0])}, ax=ax)

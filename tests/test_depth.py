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


def test_deep_generator_has_the_stated_layers_and_weight_scale():
    net = depth.deep_generator(code_dim=2, output_dim=5, width=400, n_layers=3, gain=2.0, seed=1)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(2, 400), (400, 400),
                                                                  (400, 400), (400, 5)]
    assert sum(isinstance(m, nn.Tanh) for m in net) == 3  # none after the output layer
    assert linears[1].weight.var().item() == pytest.approx(4.0 / 400, rel=0.03)
    assert linears[1].bias.std().item() == pytest.approx(0.1, rel=0.2)
    assert not any(p.requires_grad for p in net.parameters())
    same = depth.deep_generator(code_dim=2, output_dim=5, width=400, n_layers=3, gain=2.0, seed=1)
    torch.testing.assert_close(net[0].weight, same[0].weight)  # a seed fixes the network
    other = depth.deep_generator(code_dim=2, output_dim=5, width=400, n_layers=3, gain=2.0, seed=2)
    assert not torch.equal(net[0].weight, other[0].weight)


def curve_length(net, n=20_000):
    z = torch.linspace(-1, 1, n).unsqueeze(1)
    return (net(z).diff(dim=0).norm(dim=1)).sum().item()


def test_deep_generator_curve_lengthens_with_depth_when_chaotic():
    # Poole et al. 2016: with gain > 1 the length of the curve x(z), z in [-1, 1], grows with
    # depth (per unit of output scale); with gain < 1 it does not
    def normalised_length(n_layers, gain):
        net = depth.deep_generator(1, 32, width=64, n_layers=n_layers, gain=gain, seed=0)
        x = net(torch.linspace(-1, 1, 2000).unsqueeze(1))
        return curve_length(net) / x.std(0).norm().item()
    assert normalised_length(8, 2.5) > 3 * normalised_length(1, 2.5)  # about 4x
    assert normalised_length(8, 0.5) < 1.2 * normalised_length(1, 0.5)


def test_sample_generator_returns_codes_and_their_images():
    net = depth.deep_generator(code_dim=3, output_dim=7, width=10, n_layers=2, seed=0)
    z, x = depth.sample_generator(net, 500, seed=4)
    assert z.shape == (500, 3) and x.shape == (500, 7)
    assert z.min() >= -1 and z.max() <= 1 and z.std() > 0.5  # uniform on [-1, 1]: std 0.58
    torch.testing.assert_close(x, net(z))
    z2, _ = depth.sample_generator(net, 500, seed=4)
    torch.testing.assert_close(z, z2)
    assert not torch.equal(z, depth.sample_generator(net, 500, seed=5)[0])


def test_sample_generator_stays_on_the_generators_device():
    net = depth.deep_generator(code_dim=2, output_dim=3, width=4, n_layers=2).to("meta")
    z, x = depth.sample_generator(net, 6)
    assert z.device.type == "meta" and x.device.type == "meta" and x.shape == (6, 3)


@pytest.mark.parametrize("bad", [dict(code_dim=0), dict(width=2.5), dict(n_layers=True),
                                 dict(gain=0.0), dict(gain=float("nan")), dict(gain=-1)])
def test_deep_generator_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        depth.deep_generator(**bad)
    with pytest.raises(TypeError):
        depth.deep_generator(seed="0")


def test_sample_generator_rejects_bad_input():
    net = depth.deep_generator(1, 3, width=4, n_layers=1)
    with pytest.raises(ValueError):
        depth.sample_generator(net, 0)
    with pytest.raises(TypeError):
        depth.sample_generator(nn.Tanh(), 5)


def test_paper_autoencoder_is_the_paper_network_with_batch_norm_on_hidden_layers_only():
    model = depth.paper_autoencoder()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [l.in_features for l in linears] + [linears[-1].out_features] == \
        [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
    norms = [m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert norms == [1000, 500, 250, 250, 500, 1000]  # not after the code, not after the output
    assert isinstance(model.encoder[-1], torch.nn.Linear) and isinstance(model.decoder[-1], torch.nn.Linear)
    plain = depth.paper_autoencoder(batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
    assert aebook.count_parameters(plain) == depth.autoencoder_parameters(784, [1000, 500, 250], 30)
    with aebook.eval_mode(model):  # running statistics: a row's code is its own
        x = torch.rand(5, 784)
        torch.testing.assert_close(model.encode(x)[:1], model.encode(x[:1]))
    with pytest.raises(TypeError, match="batch_norm"):
        depth.paper_autoencoder(batch_norm="yes")

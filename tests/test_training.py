"""aebook.training: the loop, its determinism, evaluation, seeding and device choice; and the
book's Baldi & Hornik lesson: a linear autoencoder trained with fit learns the PCA subspace."""
import copy
import math
import random

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from torch import nn

from aebook.losses import squared_error
from aebook.metrics import principal_angles
from aebook.models import LinearAutoencoder, mlp_autoencoder
from aebook.training import History, current_seed, evaluate, fit, pick_device, set_seed


def low_rank_data(n=512, d=10, k=2, seed=0):
    """n points near a k-dimensional affine subspace of R^d: variances 9, 4 in it, 0.01 off it."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(d, d, generator=g))[0]
    scales = torch.tensor([3.0, 2.0] + [0.1] * (d - k))
    return torch.randn(n, d, generator=g) * scales @ basis.T + torch.randn(d, generator=g)


@pytest.fixture
def x():
    """64 points in [0, 1]^12 on a 3-dimensional curved manifold, which a 3-unit code can learn."""
    g = torch.Generator().manual_seed(0)
    return torch.sigmoid(torch.randn(64, 3, generator=g) @ (2 * torch.randn(3, 12, generator=g)))


def small_model(seed=0):
    torch.manual_seed(seed)
    return mlp_autoencoder(12, [8], 3)


def test_fit_reduces_the_loss(x):
    model = small_model()
    before = evaluate(model, x)
    history = fit(model, x, epochs=30, batch_size=16, lr=1e-2, progress=False)
    assert history.train[-1] < 0.5 * history.train[0]
    assert evaluate(model, x) < 0.5 * before
    assert not model.training  # fit leaves the model in eval mode


def test_fit_is_deterministic(x):
    start = small_model()
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        model = copy.deepcopy(start)
        fit(model, x, epochs=3, batch_size=16, seed=seed, progress=False)
        runs[name] = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(p, q) for p, q in zip(runs["a"], runs["b"]))  # bit for bit
    assert not all(torch.equal(p, q) for p, q in zip(runs["a"], runs["c"]))


def test_history(x):
    h = fit(small_model(), x, epochs=3, batch_size=16, progress=False)
    assert isinstance(h, History)
    assert len(h.train) == len(h.seconds) == 3 and h.test == []
    assert all(s > 0 for s in h.seconds)
    model = small_model()
    h = fit(model, x[:48], x_test=x[48:], epochs=4, batch_size=16, progress=False)
    assert len(h.train) == len(h.test) == len(h.seconds) == 4
    assert h.test[-1] == pytest.approx(evaluate(model, x[48:]), rel=1e-6)  # test loss of the final model


class RecordingSGD(torch.optim.SGD):
    """SGD that records the learning rate of every step."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.lrs = []

    def step(self, closure=None):
        self.lrs.append(self.param_groups[0]["lr"])
        return super().step(closure)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_schedule(x, schedule):
    model = small_model()
    opt = RecordingSGD(model.parameters(), lr=0.1)
    fit(model, x, optimizer=opt, schedule=schedule, epochs=3, batch_size=16, progress=False)
    steps = 3 * 4  # 64 examples in batches of 16
    if schedule == "constant":
        expected = [0.1] * steps
    else:  # half a cosine from the initial rate towards 0, one value per batch
        expected = [0.1 * 0.5 * (1 + math.cos(math.pi * s / steps)) for s in range(steps)]
    assert opt.lrs == pytest.approx(expected, rel=1e-12)


def test_cosine_schedule_restarts_from_the_initial_rate(x):
    """Training on with the same optimizer ("ten more epochs") starts again from the rate the
    optimizer was made with, not from where the last cosine left it (~0)."""
    model = small_model()
    opt = RecordingSGD(model.parameters(), lr=0.1)
    fit(model, x, optimizer=opt, schedule="cosine", epochs=2, batch_size=16, progress=False)
    opt.lrs.clear()
    fit(model, x, optimizer=opt, schedule="cosine", epochs=2, batch_size=16, progress=False)
    assert opt.lrs[0] == pytest.approx(0.1)


def test_train_loss_is_the_mean_over_examples(x):
    """With lr=0 nothing changes, so the epoch's train loss is the data set's loss, batches weighted
    by size (64 = 3 * 20 + 4: the small last batch must not count as much as a full one)."""
    model = small_model()
    h = fit(model, x, epochs=1, batch_size=20, lr=0.0, progress=False)
    with torch.no_grad():
        expected = float(((model(x) - x) ** 2).sum(1).mean())
    assert h.train[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs", [dict(epochs=0), dict(epochs=2.0), dict(batch_size=0), dict(batch_size=None),
                                    dict(schedule="linear")])
def test_fit_bad_settings(x, kwargs):
    with pytest.raises(ValueError):
        fit(small_model(), x, progress=False, **kwargs)


@pytest.mark.parametrize("bad, error", [(torch.zeros(0, 12), ValueError), (torch.zeros(12), ValueError),
                                        (np.zeros((4, 12)), TypeError), (None, TypeError),
                                        (torch.full((4, 12), float("nan")), ValueError),
                                        (torch.full((4, 12), float("inf")), ValueError),
                                        (torch.ones(4, 12, dtype=torch.long), TypeError)])
def test_fit_bad_data(x, bad, error):
    with pytest.raises(error, match="x_train"):
        fit(small_model(), bad, progress=False)
    if bad is not None:
        with pytest.raises(error, match="x_test"):
            fit(small_model(), x, x_test=bad, progress=False)


def test_fit_checks_x_test_before_training(x):
    """A wrong-width x_test used to be noticed by the model only after a whole epoch."""
    model = small_model()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match=r"x_test must have x_train's trailing shape \(12,\), got \(5,\)"):
        fit(model, x, x_test=torch.rand(4, 5), progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # not trained


@pytest.mark.parametrize("kwargs", [dict(lr=float("nan")), dict(lr=-1e-3), dict(weight_decay=float("inf")),
                                    dict(epochs=True), dict(batch_size=False)])
def test_fit_bad_numbers(x, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        fit(small_model(), x, progress=False, **kwargs)


def test_a_model_without_parameters_is_a_clear_error(x):
    for call in (lambda: fit(nn.Identity(), x, progress=False), lambda: evaluate(nn.Identity(), x)):
        with pytest.raises(TypeError, match="no parameters"):
            call()


def test_evaluate_batch_size_is_checked(x):
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        evaluate(small_model(), x, batch_size=0)


def test_fit_uses_fused_adam_where_torch_has_it(x, monkeypatch):
    made = []
    real_adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **k: made.append(k.get("fused")) or real_adam(*a, **k))
    fit(small_model(), x, epochs=1, progress=False)
    assert made == [True]


def test_fit_falls_back_where_fused_adam_is_missing(x, monkeypatch):
    """torch < 2.4 has no fused Adam on the CPU: its constructor raises, and fit uses the default."""
    made = []
    real_adam = torch.optim.Adam

    def old_adam(*args, **kwargs):
        made.append(kwargs.get("fused"))
        if kwargs.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of "
                               "supported devices: ['cuda', 'xpu', 'privateuseone']")
        return real_adam(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", old_adam)
    reference = fit(small_model(), x, epochs=2, progress=False)
    monkeypatch.undo()
    assert made == [True, None]
    assert fit(small_model(), x, epochs=2, progress=False).train == pytest.approx(reference.train, rel=1e-4)


def test_evaluate_by_hand(x):
    model = small_model()
    model.train()
    with torch.no_grad():
        expected = float(((model(x) - x) ** 2).sum(1).mean())
    assert evaluate(model, x, batch_size=7) == pytest.approx(expected, rel=1e-5)  # 64 = 9 * 7 + 1
    assert model.training  # mode restored
    custom = evaluate(model, x, loss=lambda m, xb: m(xb).abs().sum(1).mean(), batch_size=5)
    with torch.no_grad():
        assert custom == pytest.approx(float(model(x).abs().sum(1).mean()), rel=1e-5)


def test_evaluate_uses_eval_mode(x):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 12), nn.Dropout(0.5))
    model.train()
    with torch.no_grad():
        expected = float(((model[0](x) - x) ** 2).sum(1).mean())  # dropout off
    assert evaluate(model, x) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("bad, error", [(torch.zeros(0, 12), ValueError), (torch.zeros(12), ValueError),
                                        (np.zeros((4, 12)), TypeError), (torch.full((4, 12), float("nan")), ValueError),
                                        (torch.ones(4, 12, dtype=torch.int32), TypeError)])
def test_evaluate_bad_x(bad, error):
    with pytest.raises(error, match="x"):
        evaluate(small_model(), bad)


def test_set_seed():
    assert set_seed(3) == 3 and current_seed() == 3
    a = (random.random(), np.random.rand(), torch.rand(1))
    set_seed(3)
    b = (random.random(), np.random.rand(), torch.rand(1))
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])
    for bad in (1.0, "3", True):
        with pytest.raises(TypeError):
            set_seed(bad)


def test_set_seed_from_the_environment(monkeypatch):
    monkeypatch.delenv("AEBOOK_SEED", raising=False)
    assert set_seed() == 0
    monkeypatch.setenv("AEBOOK_SEED", "2")
    assert set_seed() == 2 and current_seed() == 2
    a = torch.rand(3)
    assert torch.equal(a, (set_seed(2), torch.rand(3))[1])
    for bad in ("-1", "two", "1.5"):
        monkeypatch.setenv("AEBOOK_SEED", bad)
        with pytest.raises(ValueError, match="AEBOOK_SEED"):
            set_seed()


def test_fit_without_a_seed_continues_the_global_generator(x):
    """seed=None: two runs after the same set_seed agree; after different seeds they differ."""
    runs = []
    for seed in (5, 5, 6):
        model = small_model()  # the same initial weights every time
        set_seed(seed)
        fit(model, x, epochs=2, batch_size=16, progress=False)
        runs.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(p, q) for p, q in zip(runs[0], runs[1]))
    assert not all(torch.equal(p, q) for p, q in zip(runs[0], runs[2]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present, so pick_device rightly does not return cpu")
def test_pick_device_cpu(monkeypatch):
    monkeypatch.delenv("AEBOOK_DEVICE", raising=False)
    assert pick_device() == torch.device("cpu")


def test_pick_device_leaves_mps_opt_in(monkeypatch):
    """Apple's MPS (no float64, parts of torch.linalg missing) is used only when asked for."""
    monkeypatch.delenv("AEBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("AEBOOK_DEVICE", "mps")
    assert pick_device() == torch.device("mps")
    monkeypatch.setenv("AEBOOK_DEVICE", "meta")  # any device torch knows
    assert pick_device() == torch.device("meta")
    assert pick_device("cpu") == torch.device("cpu")  # an explicit choice wins
    monkeypatch.setenv("AEBOOK_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="AEBOOK_DEVICE"):
        pick_device()


def test_pick_device_prefer():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("meta") == torch.device("meta")  # honoured, whatever is available


def test_linear_autoencoder_learns_the_pca_subspace():
    """DLB §14.1, Baldi & Hornik 1989: with squared error, the linear autoencoder's decoder spans
    the principal subspace (though not necessarily the principal directions themselves)."""
    x = low_rank_data()
    pcs = torch.from_numpy(PCA(n_components=2).fit(x.numpy()).components_.T.copy())  # (10, 2)
    torch.manual_seed(0)
    model = LinearAutoencoder(10, 2)
    fit(model, x, loss=squared_error, epochs=100, batch_size=64, lr=1e-2, progress=False)
    learned = principal_angles(model.decoder_weight.detach(), pcs).max()
    untrained = principal_angles(LinearAutoencoder(10, 2).decoder_weight.detach(), pcs).max()
    assert learned < 2.0, f"subspace angle {learned:.2f} deg"
    assert untrained > 20.0, f"an untrained decoder is already within {untrained:.2f} deg"


def test_callback_sees_every_epoch_in_order(x):
    model = small_model()
    seen = []
    fit(model, x, epochs=3, batch_size=16, progress=False,
        callback=lambda epoch, m: seen.append((epoch, m is model, evaluate(m, x))))
    assert [e for e, _, _ in seen] == [0, 1, 2] and all(same for _, same, _ in seen)
    # the value recorded after the last epoch is the trained model's
    assert seen[-1][2] == pytest.approx(evaluate(model, x), rel=1e-6)


def test_cosine_factor_warms_up_then_decays():
    from aebook.training import cosine_factor
    assert cosine_factor(0.0) == 1.0 and cosine_factor(1.0) == pytest.approx(0.0)
    assert cosine_factor(0.5) == pytest.approx(0.5)
    assert cosine_factor(0.0, 0.1) == 0.0 and cosine_factor(0.05, 0.1) == pytest.approx(0.5)
    assert cosine_factor(0.1, 0.1) == 1.0 and cosine_factor(0.55, 0.1) == pytest.approx(0.5)


def test_fit_warms_up_the_learning_rate(x):
    """The learning rate rises from 0 over the warm-up, peaks, then decays toward 0."""
    model = small_model()
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    fit(model, x, epochs=4, batch_size=16, optimizer=Spy(model.parameters(), lr=0.1),
        schedule="cosine", warmup=0.5, progress=False)
    assert seen[0] == 0.0 and max(seen) == pytest.approx(0.1) and seen[-1] < 0.05
    assert seen.index(max(seen)) == len(seen) // 2
    with pytest.raises(ValueError, match="warmup"):
        fit(model, x, warmup=0.1, progress=False)  # a warm-up needs the cosine schedule
    with pytest.raises(ValueError, match="warmup"):
        fit(model, x, schedule="cosine", warmup=1.0, progress=False)

"""aebook.webformat and aebook.webexport: the page's arrays, networks, generator and corruptions
against torch, the export of each explorer kind, and its bad inputs. The page itself (the
JavaScript) is compared with these in Chromium: tests/browser/test_explorers.py."""
import json

import numpy as np
import pytest
import torch
from torch import nn

import aebook
from aebook import corruption, explore, fields, toy, webexport, webformat
from aebook.vae import VAE


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("dtype, tol", [("f32", 0), ("f16", 1e-3), ("i8", 1e-2)])
def test_pack_round_trips_within_the_dtypes_precision(dtype, tol):
    a = torch.randn(5, 7)
    back = webformat.unpack(webformat.pack(a, dtype))
    assert back.dtype == np.float32 and back.shape == (5, 7)
    assert np.abs(back - a.numpy()).max() <= tol * a.abs().max().item() + 1e-7


def test_int8_scales_groups_of_a_row():
    a = np.ones((2, 784), dtype=np.float32)
    a[0, 0] = 100.0  # an outlier costs only its own group's precision
    p = webformat.pack(a, "i8")
    assert p["group"] == 56 and len(p["scale"]) > 0
    back = webformat.unpack(p)
    assert back[0, 0] == 100.0 and np.allclose(back[0, 56:], 1) and np.allclose(back[1], 1)
    assert abs(back[0, 1] - 1) < 0.4  # in the outlier's group: 100 / 127 steps


def test_pack_rejects_what_the_page_cannot_read():
    with pytest.raises(ValueError, match="dtype"):
        webformat.pack(np.zeros(3), "f64")
    with pytest.raises(ValueError, match="NaN"):
        webformat.pack(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="2-D"):
        webformat.pack(np.zeros(3), "i8")
    assert (webformat.unpack(webformat.pack(np.zeros((2, 3)), "i8")) == 0).all()  # a zero row


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Softplus])
def test_run_net_is_the_torch_forward_pass(act):
    model = nn.Sequential(nn.Linear(3, 8), act(), nn.Sequential(nn.Linear(8, 2), nn.Identity()))
    x = torch.randn(4, 3) * 5
    net = webformat.export_net(webformat.mlp_layers(model))
    np.testing.assert_allclose(webformat.run_net(net, x.numpy()), model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_mlp_layers_refuses_what_the_page_cannot_run():
    with pytest.raises(TypeError, match="BatchNorm1d"):
        webformat.mlp_layers(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    with pytest.raises(TypeError, match="softplus"):
        webformat.mlp_layers(nn.Softplus(beta=2))
    with pytest.raises(ValueError, match="no nn.Linear"):
        webformat.export_net([nn.ReLU()])
    with pytest.raises(ValueError, match="unknown layer"):
        webformat.run_net({"layers": [{"op": "gelu"}]}, np.zeros((1, 2)))


def test_mulberry32_is_seeded_uniform_and_normal():
    # the first draws of mulberry32(0), as node prints them for the page's function (the browser
    # check compares the page's draws with these functions' on every explorer)
    rng = webformat.Mulberry32(0)
    assert [rng.next() for _ in range(3)] == [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]
    u = webformat.Mulberry32(7).uniform(20_000)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = webformat.Mulberry32(7).normal(20_001)
    assert len(z) == 20_001 and abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert not np.array_equal(webformat.Mulberry32(1).uniform(5), webformat.Mulberry32(2).uniform(5))
    with pytest.raises(TypeError, match="seed"):
        webformat.Mulberry32(1.5)


def test_corrupt_draws_each_corruption_and_keeps_x_at_level_0():
    x = np.random.default_rng(0).random((4, 784)).astype(np.float32)
    masked = webformat.corrupt("masking", x, 0.3, seed=1)
    assert ((masked == 0) | (masked == x)).all() and 0.25 < (masked == 0).mean() < 0.35
    sp = webformat.corrupt("salt-and-pepper", x, 0.3, seed=1)
    hit = sp != x
    assert set(np.unique(sp[hit])) <= {0.0, 1.0} and 0.25 < hit.mean() < 0.35
    noisy = webformat.corrupt("gaussian", x, 0.5, seed=1)
    assert abs((noisy - x).std() - 0.5) < 0.02 and noisy.dtype == np.float32
    np.testing.assert_array_equal(webformat.corrupt("gaussian", x, 0.5, seed=1), noisy)  # seeded
    assert (webformat.corrupt("masking", x, 0.0, seed=1) == x).all()
    # one uniform per pixel: a higher masking level masks a superset of the pixels
    assert ((webformat.corrupt("masking", x, 0.6, seed=1) == 0) >= (masked == 0)).all()
    with pytest.raises(ValueError, match="kind"):
        webformat.corrupt("blur", x, 0.1, seed=0)


def latent():
    model = aebook.mlp_autoencoder(784, [32], 2)
    return model, explore.latent_view(model.decode, torch.randn(300, 2), torch.arange(300) % 10)


def spec_of(explorer):
    return json.loads(explorer.html.split('class="aebook-explorer-data">')[1].split("</script>")[0])


def test_latent_export_holds_the_decoder_and_the_views_own_outputs():
    model, view = latent()
    explorer = webexport.live(view)
    spec, check = spec_of(explorer), explorer.check
    assert spec["format"] == webexport.FORMAT and spec["kind"] == "latent" and spec["dtype"] == "f16"
    assert [c["name"] for c in spec["controls"]] == ["h1", "h2"]
    assert set(spec["figure"]["panels"]) == {"map", "image"} and spec["figure"]["scale"] == 2
    for case in check["cases"]:  # the Python view's image, and the page's forward pass near it
        h = torch.tensor([[case["values"]["h1"], case["values"]["h2"]]])
        image = webformat.unpack(case["outputs"]["image"])
        np.testing.assert_allclose(image, model.decode(h)[0].detach().numpy(), atol=1e-6)
        page = webformat.run_net(spec["data"]["decoder"], h.numpy())[0]
        assert np.abs(page - image).max() <= check["export_error"] <= 1e-3
    assert view.values == {"h1": view.initial["h1"], "h2": view.initial["h2"]}  # restored
    from IPython.core.formatters import DisplayFormatter

    data, metadata = DisplayFormatter().format(explorer)  # as a notebook stores the output
    assert set(data) == {"text/html", "text/plain"} and metadata == {webexport.CHECK_KEY: explorer.check}
    assert 'data-weight="' in explorer.html and explorer.weight["bytes"] == len(explorer.html.encode()) - len(
        f' data-weight="{explorer.weight["bytes"]}"')
    assert "</script>" not in explorer.html.split('class="aebook-explorer-data">')[1][:-len("</script></div>")]


def test_backdrop_hides_what_update_draws_and_restores_it():
    _, view = latent()
    before = view.rgba()
    spec = spec_of(webexport.live(view))
    assert spec["figure"]["texts"]["title"]["text"].startswith("decoded: g(h)")
    assert all(a.get_visible() for a in view.source["hide"]) and np.array_equal(view.rgba(), before)


def test_interpolation_export_decodes_the_pages_prior_draws():
    vae = VAE(784, hidden=[16], latent_dim=3)
    x = (torch.rand(2, 784) > 0.5).float()
    explorer = webexport.live(explore.interpolation_view(vae.encode, vae.decode_mean, x[0], x[1], n_samples=4))
    samples = [c for c in explorer.check["cases"] if "samples" in c["outputs"]]
    assert [c["values"]["seed"] for c in samples] == [0, 1]
    h = torch.tensor(webformat.Mulberry32(1).normal(12), dtype=torch.float32).reshape(4, 3)
    np.testing.assert_allclose(webformat.unpack(samples[1]["outputs"]["samples"]),
                               vae.decode_mean(h).detach().numpy(), atol=1e-6)
    spec = spec_of(explorer)
    assert spec["data"]["decoder"]["layers"][-1] == {"op": "sigmoid"}  # decode_mean


def test_noise_export_reconstructs_the_pages_own_corruption():
    x = torch.rand(3, 784)
    model = aebook.mlp_autoencoder(784, [], 16, code_activation=nn.Sigmoid, out_activation=None)
    view = explore.noise_view({"masking": (model, corruption.masking)}, x, plain=model)
    explorer = webexport.live(view)
    (case,) = explorer.check["cases"]
    x_tilde = webformat.corrupt("masking", x.numpy(), case["values"]["level"], 0)
    np.testing.assert_array_equal(webformat.unpack(case["outputs"]["corrupted"]), x_tilde)
    r = torch.sigmoid(model(torch.from_numpy(x_tilde))).detach().numpy()
    np.testing.assert_allclose(webformat.unpack(case["outputs"]["DAE"]), r, atol=1e-6)
    assert spec_of(explorer)["dtype"] == "i8" and 0 < explorer.check["export_error"] < 0.02
    with pytest.raises(TypeError, match="draws"):
        webexport.live(explore.noise_view({"blur": (model, lambda x, level, generator: x)}, x))


def point():
    mixture = toy.gaussian_mixture()
    model = aebook.mlp_autoencoder(2, [8], 8, activation=nn.SiLU, out_activation=None)
    settings = {"a": {"DAE": lambda p: fields.reconstruction_field(model, p) / 0.04, "exact": mixture.score}}
    view = explore.point_view(settings, lambda ax: None, (-3.5, 3.5), start=(1.5, 0.5))
    return view, {"a": {"DAE": webexport.Residual(model, 1 / 0.04), "exact": webexport.MixtureScore(mixture)}}


def test_point_export_checks_its_fields_against_the_view():
    view, web = point()
    explorer = webexport.live(view, web)
    assert [c["values"]["x1"] for c in explorer.check["cases"]] == [1.5, -3.5, 3.5, 0.0]
    assert explorer.check["cases"][-1]["title"].endswith("cosine undefined")  # the score is 0 at 0
    spec = spec_of(explorer)
    assert [a["name"] for a in spec["data"]["arrows"]] == ["DAE", "exact"] and spec["data"]["zero"] == 1e-4
    wrong = {"a": {"DAE": webexport.Residual(web["a"]["DAE"].model, 1.0), "exact": web["a"]["exact"]}}
    with pytest.raises(ValueError, match="differs from the view"):
        webexport.live(view, wrong)  # a field that is not the view's
    with pytest.raises(ValueError, match="settings and field names"):
        webexport.live(view)


def test_nearest_is_the_vector_to_the_closest_point():
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    torch.testing.assert_close(webexport.Nearest(points)(torch.tensor([[0.9, 0.7]])), torch.tensor([[0.1, 0.3]]))


def test_live_refuses_views_it_cannot_export():
    models = {0.0: aebook.mlp_autoencoder(784, [], 8)}
    with pytest.raises(TypeError, match="latent, interpolation, noise or point"):
        webexport.live(explore.penalty_view(models, torch.rand(2, 784), lambda m: m.encoder[0].weight))
    codes = torch.randn(50, 2)
    with pytest.raises(TypeError, match="cannot export"):
        webexport.live(explore.latent_view(lambda h: torch.zeros(len(h), 784), codes))

"""nn.draw_model: architecture pictures and per-neuron heatmaps."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.collections import LineCollection
from matplotlib.image import AxesImage

from autograd_core import no_grad
from nn.draw_model import dense_layers, draw_architecture, neuron_heatmaps, neuron_outputs
from nn.layers import MLP, Layer


def test_dense_layers_read_the_weights():
    model = MLP(2, [3, 1], rng=0)
    layers = dense_layers(model)
    assert [layer.name for layer in layers] == ["layers.0", "layers.1"]
    assert layers[0].W.shape == (3, 2) and layers[1].W.shape == (1, 3)
    assert layers[0].W[2, 1] == model.layers[0].neurons[2].w[1].data
    assert layers[0].activation == "relu" and layers[1].activation == "linear"


def test_batch_norm_and_activation_attach_to_the_layer_before():
    layers = dense_layers(MLP(2, [3, 1], rng=0, batch_norm=True))
    assert [layer.name for layer in layers] == ["layers.0", "layers.3"]
    assert layers[0].after == ("BatchNorm1d", "ReLU()")


def test_architecture_has_one_line_per_weight_coloured_by_sign():
    model = MLP(2, [16, 16, 1], rng=0)
    fig = draw_architecture(model)
    ax = fig.axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in lines] == [32, 256, 16]
    W = dense_layers(model)[1].W.ravel()
    colours = lines[1].get_colors()
    blue = np.array([0x1F, 0x77, 0xB4]) / 255
    positive = np.isclose(colours[:, :3], blue, atol=1e-3).all(axis=1)
    assert (positive == (W > 0)).all()
    widths = np.asarray(lines[1].get_linewidths())
    assert widths[np.argmax(np.abs(W))] == widths.max()
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "input\n2" and texts[1] == "layers.0\n16 relu"


def test_architecture_with_heatmaps_draws_one_picture_per_neuron():
    model = MLP(2, [4, 3, 1], rng=1)
    fig = draw_architecture(model, heatmaps=True, resolution=8)
    images = [im for im in fig.axes[0].get_images() if isinstance(im, AxesImage)]
    assert len(images) == 2 + 4 + 3 + 1
    assert images[0].get_array().shape == (8, 8)


def test_neuron_outputs_match_running_the_layers_by_hand():
    model = MLP(2, [3, 2, 1], activation="tanh", rng=2)
    points = np.array([[0.5, -1.0], [2.0, 0.25]])
    first, second, last = neuron_outputs(model, points)
    assert first.shape == (2, 3) and second.shape == (2, 2) and last.shape == (2, 1)
    with no_grad():
        for p, row in zip(points, first):
            assert np.allclose(row, [v.data for v in model.layers[0](list(p))])
        assert np.allclose(last[:, 0], [model(list(p)).data for p in points])


def test_neuron_heatmaps_grid_has_a_row_per_layer_and_data_on_the_last():
    model = MLP(2, [3, 2, 1], rng=0)
    X = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    fig = neuron_heatmaps(model, X=X, y=np.array([0, 1, 1]), resolution=6)
    with_images = [ax for ax in fig.axes if ax.get_images()]
    assert len(with_images) == 3 + 2 + 1
    assert [ax.get_title() for ax in with_images][:3] == ["layers.0.0", "layers.0.1", "layers.0.2"]
    assert len(with_images[-1].collections) == 1  # the data scatter


def test_heatmaps_need_two_inputs_and_models_need_neurons():
    with pytest.raises(ValueError, match="2 inputs"):
        neuron_heatmaps(MLP(3, [2, 1], rng=0))
    with pytest.raises(ValueError, match="2 inputs"):
        draw_architecture(MLP(3, [2, 1], rng=0), heatmaps=True)
    with pytest.raises(TypeError, match="no layer of neurons"):
        dense_layers(object())


def test_a_single_layer_is_drawn_too():
    fig = draw_architecture(Layer(2, 3, rng=0))
    assert len([c for c in fig.axes[0].collections if isinstance(c, LineCollection)]) == 1

"""nn.to_torch / nn.from_torch: the same model in PyTorch, float64, outputs equal to 1e-12."""

from __future__ import annotations

import builtins

import pytest

from nn.batchnorm import BatchNorm1d
from nn.layers import MLP, Activation, Layer, Neuron, Sequential
from nn.torch_bridge import from_torch, to_torch

X = [[1.0, 2.0], [0.5, -1.0], [0.3, 0.2], [-2.0, 0.7], [0.0, -0.4]]


def ours(model, X=X):
    """Our model's outputs on a batch as an N×k list of floats."""
    out = model(X)
    return [[v.data for v in (o if isinstance(o, list) else [o])] for o in out]


def theirs(torch, module, X=X):
    return module(torch.tensor(X, dtype=torch.float64)).tolist()


def assert_close(a, b, tol=1e-12):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra == pytest.approx(rb, abs=tol, rel=tol)


MODELS = {
    "micrograd_mlp": lambda: MLP(2, [16, 16, 1], rng=1337),
    "tanh_no_bias": lambda: MLP(2, [4, 3], activation="tanh", bias=False, rng=1),
    "sigmoid": lambda: MLP(2, [5, 2], activation="sigmoid", rng=2),
    "leaky_relu": lambda: MLP(2, [5, 1], activation="leaky_relu", init="he", rng=3),
    "batch_norm": lambda: MLP(2, [6, 4, 1], batch_norm=True, rng=4),
    "sequential": lambda: Sequential(Layer(2, 3, activation="linear", rng=5), BatchNorm1d(3, momentum=None),
                                     Activation("tanh"), Layer(3, 2, activation="sigmoid", rng=6)),
    "layer": lambda: Layer(2, 3, activation="relu", rng=7),
    "neuron": lambda: Neuron(2, activation="tanh", rng=8),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_to_torch_gives_the_same_outputs_in_training_mode(torch, make):
    model = make()
    module = to_torch(model)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert_close(ours(model), theirs(torch, module))


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_to_torch_gives_the_same_outputs_and_running_stats_in_eval_mode(torch, make):
    model = make()
    module = to_torch(model)
    ours(model)
    theirs(torch, module)  # one training batch updates running statistics on both sides
    model.eval()
    module.eval()
    assert_close(ours(model), theirs(torch, module))
    bns = [m for m in module if isinstance(m, torch.nn.BatchNorm1d)]
    for ours_bn, their_bn in zip([m for m in model.modules() if isinstance(m, BatchNorm1d)], bns):
        assert ours_bn.running_mean == pytest.approx(their_bn.running_mean.tolist(), abs=1e-12)
        assert ours_bn.running_var == pytest.approx(their_bn.running_var.tolist(), abs=1e-12)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_parameter_gradients_agree_with_torch(torch, make):
    model = make()
    module = to_torch(model)
    loss = sum(v for row in model(X) for v in (row if isinstance(row, list) else [row]))
    loss.backward()
    theirs_loss = module(torch.tensor(X, dtype=torch.float64)).sum()
    theirs_loss.backward()
    assert loss.data == pytest.approx(theirs_loss.item(), abs=1e-12)
    their_grads = [g for p in module.parameters() for g in p.grad.flatten().tolist()]
    # torch stores a Linear as W (out × in) then b; ours per neuron (w…, b): compare as multisets.
    assert sorted(p.grad for p in model.parameters()) == pytest.approx(sorted(their_grads), abs=1e-12)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_from_torch_of_to_torch_gives_back_the_same_weights_and_outputs(torch, make):
    model = make()
    back = from_torch(to_torch(model))
    assert sorted(back.state_dict().values()) == sorted(model.state_dict().values())
    assert_close(ours(back), ours(model), tol=0.0)


def test_from_torch_builds_an_mlp_when_the_layers_have_its_shape(torch):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 1))
    model = from_torch(module)
    assert isinstance(model, MLP)
    assert model.config()["nouts"] == [8, 8, 1] and model.activation == "tanh"
    assert_close(ours(model), theirs(torch, module.double()))


def test_from_torch_converts_float32_weights_exactly(torch):
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    model = from_torch(module)
    assert model.layers[0].neurons[0].w[0].data == float(module[0].weight[0, 0].item())


def test_from_torch_converts_batch_norm_with_its_running_statistics(torch):
    torch.manual_seed(2)
    module = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Identity(), torch.nn.Linear(4, 1)).double()
    module(torch.tensor(X, dtype=torch.float64))
    module.eval()
    model = from_torch(module)
    assert not model.training
    bn = model.layers[1]
    assert isinstance(bn, BatchNorm1d) and bn.num_batches_tracked == 1
    assert_close(ours(model), theirs(torch, module))


def test_from_torch_of_a_single_linear_layer(torch):
    lin = torch.nn.Linear(2, 2, dtype=torch.float64)
    assert_close(ours(from_torch(lin)), theirs(torch, lin))


@pytest.mark.parametrize(
    ("module", "error", "message"),
    [
        (lambda torch: torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()), TypeError, r"Dropout.*layer 1"),
        (lambda torch: torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmin(dim=1)), TypeError,
         "cannot convert Softmin"),
        (lambda torch: torch.nn.Conv1d(1, 1, 1), TypeError, "cannot convert Conv1d"),
        (lambda torch: torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LeakyReLU(0.2)), ValueError,
         "negative_slope=0.01"),
        (lambda torch: [1, 2], TypeError, "needs a torch.nn.Module, got list"),
    ],
    ids=["dropout", "softmin", "conv", "leaky_slope", "not_a_module"],
)
def test_from_torch_names_the_unsupported_layer(torch, module, error, message):
    with pytest.raises(error, match=message):
        from_torch(module(torch))


def test_to_torch_refuses_what_is_not_a_module(torch):
    with pytest.raises(TypeError, match=r"needs an nn\.Module, got int"):
        to_torch(3)


def test_without_torch_the_error_names_the_extra_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch(MLP(2, [1], rng=0))
    with pytest.raises(ImportError, match="pip install torch"):
        from_torch(None)

"""micrograd drop-in: programs written for ``micrograd.engine.Value`` run with ours unchanged.

The expressions below are micrograd's README example and its ``test/test_engine.py`` checks,
copied as programs that take the ``Value`` class as their only dependency. Where the
installed ``micrograd`` package is importable the numbers are compared with it directly.

Two documented differences:

* micrograd writes ``a / b`` as ``a * b**-1``; we divide directly, so a gradient through a
  division can differ in its last bit or two. micrograd's own results already wobble in the
  last bit from run to run (it keeps children in a ``set``, so the summation order of a
  gradient depends on memory addresses).
* micrograd accumulates interior gradients across ``backward()`` calls (``y = x*x*x`` at 3
  gives 27, then 72 after a second call); we reset them as PyTorch does (27 then 54). This is
  deliberate.
"""

from __future__ import annotations

import math
import random

import pytest

from autograd_core import Value


def readme_example(Value):
    # micrograd's README example; its test_engine.py runs the same program as test_more_ops.
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def sanity_check(Value):
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return x, y


def _micrograd():
    return pytest.importorskip("micrograd.engine")


def _ulps_apart(a: float, b: float, n: int = 4) -> bool:
    return abs(a - b) <= n * math.ulp(max(abs(a), abs(b)))


def test_readme_numbers():
    g, a, b = readme_example(Value)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_readme_matches_installed_micrograd():
    M = _micrograd().Value
    g, a, b = readme_example(Value)
    mg, ma, mb = readme_example(M)
    assert g.data == mg.data
    assert _ulps_apart(a.grad, ma.grad) and _ulps_apart(b.grad, mb.grad)


def test_sanity_check_is_identical_to_installed_micrograd():
    M = _micrograd().Value
    x, y = sanity_check(Value)
    mx, my = sanity_check(M)
    assert (y.data, x.grad) == (my.data, mx.grad) == (-20.0, 46.0)


def test_micrograd_test_engine_sanity_check_against_torch(torch):
    xmg, ymg = sanity_check(Value)
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert ymg.data == y.data.item()
    assert xmg.grad == x.grad.item()


def test_micrograd_test_engine_more_ops_against_torch(torch):
    gmg, amg, bmg = readme_example(Value)
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    tol = 1e-6
    assert abs(gmg.data - g.data.item()) < tol
    assert abs(amg.grad - a.grad.item()) < tol
    assert abs(bmg.grad - b.grad.item()) < tol


def test_micrograd_mlp_trains_identically_with_our_value(monkeypatch):
    # micrograd.nn builds its neurons from whatever Value it imported; swap ours in.
    mnn = pytest.importorskip("micrograd.nn")
    meng = _micrograd()
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def train(value_class):
        monkeypatch.setattr(mnn, "Value", value_class)
        random.seed(1337)
        model = mnn.MLP(3, [4, 4, 1])
        losses = []
        for _ in range(5):
            preds = [model([value_class(v) for v in x]) for x in xs]
            loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), value_class(0.0))
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= 0.05 * p.grad
            losses.append(loss.data)
        return losses, [p.data for p in model.parameters()]

    ours, our_params = train(Value)
    theirs, their_params = train(meng.Value)
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(ours, theirs))
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(our_params, their_params))
    assert ours[-1] < ours[0]


def test_micrograd_private_graph_names_work_for_its_drawing_code():
    # micrograd's trace() walks v._prev and labels nodes with v._op.
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a
    seen, stack = set(), [c]
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(v._prev)
    assert len(seen) == 4
    assert c._op == "+" and a._op == ""


def test_interior_grads_reset_so_a_second_backward_doubles():
    x = Value(3.0)
    y = x * x * x
    y.backward()
    assert x.grad == 27.0
    y.backward()
    assert x.grad == 54.0


def test_installed_micrograd_accumulates_interior_grads_instead():
    M = _micrograd().Value
    mx = M(3.0)
    my = mx * mx * mx
    my.backward()
    my.backward()
    # micrograd keeps (x*x).grad = 3 from the first call and adds 3 again: the second call
    # contributes 9 + 2·3·6 = 45 instead of 27, so x.grad ends at 72.
    assert mx.grad == 72.0

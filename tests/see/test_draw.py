"""draw_graph: the structure of the drawing (node titles, label texts), never SVG bytes."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

graphviz = pytest.importorskip("graphviz")

from autograd_core import Value  # noqa: E402
from autograd_core.see.draw import draw_dot, draw_graph, graphviz_pure_binary, select_dot_binary  # noqa: E402
from autograd_core.see.steps import backward_steps  # noqa: E402
from tests.helpers import neuron  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _default_dot(monkeypatch):
    """Each test starts with graphviz's default DOT_BINARY, as on a fresh import."""
    from graphviz.backend import dot_command

    monkeypatch.setattr(dot_command, "DOT_BINARY", Path("dot"))


def svg_of(dot) -> ET.Element:
    return ET.fromstring(dot.pipe(format="svg"))


def texts(svg: ET.Element) -> list[str]:
    return [t.text.strip() for t in svg.iter(SVG + "text") if t.text and t.text.strip()]


def titles(svg: ET.Element, kind: str) -> list[str]:
    return [g.find(SVG + "title").text for g in svg.iter(SVG + "g") if g.get("class") == kind]


def test_neuron_svg_has_labels_data_grads_and_op_nodes():
    a, _ = neuron()
    a.backward()
    found = texts(svg_of(draw_graph(a)))
    for label in ("x1", "x2", "w1", "w2", "b", "a"):
        assert label in found
    for data in ("data 2", "data -3", "data 6.881", "data 0.7071"):
        assert data in found
    for grad in ("grad -1.5", "grad 1", "grad 0.5"):
        assert grad in found
    assert found.count("*") == 2
    assert found.count("+") == 2
    assert found.count("tanh") == 1


def test_value_and_op_nodes_and_edges_follow_data_flow():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    z = x + y
    svg = svg_of(draw_graph(z))
    assert sorted(titles(svg, "node")) == ["v0", "v1", "v2", "v2op"]
    assert sorted(titles(svg, "edge")) == ["v0->v2op", "v1->v2op", "v2op->v2"]


def test_square_draws_two_edges_from_the_same_value():
    x = Value(3.0, "x")
    y = x * x
    edge_titles = titles(svg_of(draw_graph(y)), "edge")
    assert edge_titles.count("v0->v1op") == 2


def test_draw_dot_is_micrograd_name_for_draw_graph():
    assert draw_dot is draw_graph


def test_names_from_locals_label_unlabelled_values():
    hidden_w = Value(-3.0)
    x = Value(2.0)
    xs = [Value(5.0), Value(6.0)]
    _private = hidden_w
    y = x * hidden_w + xs[0] * xs[1]
    found = texts(svg_of(draw_graph(y, names=locals())))
    assert {"x", "hidden_w", "xs[0]", "xs[1]", "y"} <= set(found)
    assert "_private" not in found


def test_model_parameters_carry_dotted_names():
    class Tiny:
        def __init__(self):
            self.w = [Value(0.5), Value(-0.25)]
            self.b = Value(0.1)

        def named_parameters(self):
            yield "layers.0.neurons.0.w.0", self.w[0]
            yield "layers.0.neurons.0.w.1", self.w[1]
            yield "layers.0.neurons.0.b", self.b

    m = Tiny()
    out = (m.w[0] * 2.0 + m.w[1] * 3.0 + m.b).tanh()
    found = texts(svg_of(draw_graph(out, model=m)))
    assert {"layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"} <= set(found)


def test_model_without_named_parameters_is_a_type_error():
    with pytest.raises(TypeError, match="named_parameters"):
        draw_graph(Value(1.0), model=object())


def test_show_data_and_show_grad_choose_the_fields():
    a, _ = neuron()
    a.backward()
    source = draw_graph(a, show_data=False, show_grad=False).source
    assert "data " not in source and "grad " not in source
    source = draw_graph(a, show_data=True, show_grad=False).source
    assert "data 0.7071" in source and "grad " not in source


def test_record_special_characters_in_labels_are_escaped():
    x = Value(1.0, "{a|b} <c>")
    found = texts(svg_of(draw_graph(x * 2.0)))
    assert "{a|b} <c>" in found


def test_rankdir_is_passed_to_graphviz_and_validated():
    assert "rankdir=TB" in draw_graph(Value(1.0) + 1.0, rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="sideways")


def test_bad_root_and_bad_max_nodes_are_clear_errors():
    with pytest.raises(TypeError, match="needs a Value, got float"):
        draw_graph(1.0)
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(Value(1.0), max_nodes=0)


def test_large_graph_is_summarised_with_the_nodes_nearest_the_root():
    x = Value(0.5, "x")
    y = x
    for _ in range(2000):
        y = y * 1.0001
    y.label = "y"
    dot = draw_graph(y, max_nodes=50, collapse=False, max_width=None)
    svg = svg_of(dot)
    found = texts(svg)
    assert "y" in found and "x" not in found
    assert "... 3951 more nodes (max_nodes=50)" in found
    value_nodes = [t for t in titles(svg, "node") if t.startswith("v") and not t.endswith("op")]
    assert len(value_nodes) == 50
    assert any(t.startswith("hidden->") for t in titles(svg, "edge"))


def test_deep_graph_draws_without_recursion_error():
    y = Value(1.0)
    for _ in range(5000):
        y = y + 1.0
    dot = draw_graph(y, max_nodes=20000)
    assert dot.source.count("shape=record") == 10001


def test_render_png_and_jupyter_svg_display(tmp_path):
    a, _ = neuron()
    dot = draw_graph(a)
    path = dot.render(tmp_path / "neuron", format="png")
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = dot._repr_mimebundle_()
    assert "image/svg+xml" in bundle and "tanh" in bundle["image/svg+xml"]


def test_renders_svg_with_no_system_dot_on_path(monkeypatch, tmp_path):
    path_without_dot = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "dot").exists()
    )
    monkeypatch.setenv("PATH", path_without_dot or str(tmp_path))
    binary = select_dot_binary()
    assert binary == graphviz_pure_binary()
    assert binary is not None and "graphviz-pure" in binary.name
    a, _ = neuron()
    a.backward()
    svg = svg_of(draw_graph(a))
    assert "v0" in titles(svg, "node")
    assert "tanh" in texts(svg)


def test_system_dot_on_path_is_preferred(monkeypatch, tmp_path):
    fake = tmp_path / ("dot.exe" if os.name == "nt" else "dot")
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    assert select_dot_binary() == Path("dot")


def test_a_dot_binary_chosen_by_the_user_is_left_alone(monkeypatch):
    from graphviz.backend import dot_command

    monkeypatch.setattr(dot_command, "DOT_BINARY", Path("/opt/my/dot"))
    draw_graph(Value(1.0))
    assert dot_command.DOT_BINARY == Path("/opt/my/dot")


def test_highlight_step_marks_pending_grads_and_used_edges():
    x = Value(3.0, "x")
    sq = x * x
    sq.label = "sq"
    y = sq + x
    y.label = "y"
    steps = list(backward_steps(y))
    first = texts(svg_of(draw_graph(y, highlight=steps[0])))
    # After the root's step, x has one of its three contributions and sq has its only one.
    assert "grad 1 + ?" in first
    assert "grad 1" in first
    assert first.count("1 * 1 = 1") == 2
    second = texts(svg_of(draw_graph(y, highlight=steps[1])))
    # x fans out three times (twice into *, once into +): its grad is the sum of the paths.
    assert "grad 1 + 3 + 3 = 7" in second
    assert second.count("1 * 3 = 3") == 2


def test_highlight_before_any_contribution_shows_question_marks():
    a, _ = neuron()
    steps = backward_steps(a)
    step = next(steps)
    found = texts(svg_of(draw_graph(a, highlight=step)))
    # Ten Values: the root (seeded with 1), tanh's input (just received 1 - a² = 0.5), 8 waiting.
    assert found.count("grad ?") == 8
    assert "grad 1" in found and "grad 0.5" in found


def test_highlight_value_fills_that_node():
    x = Value(1.0, "x")
    y = x + 2.0
    source = draw_graph(y, highlight=x).source
    line = next(ln for ln in source.splitlines() if ln.strip().startswith("v0 "))
    assert "fillcolor" in line
    with pytest.raises(TypeError, match="highlight"):
        draw_graph(y, highlight=3)


def test_missing_graphviz_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"backprop-lab\[viz\]"):
        draw_graph(Value(1.0))


def svg_width(dot) -> float:
    """Width in pt, checked against the viewBox (graphviz writes both)."""
    svg = svg_of(dot)
    width = float(svg.get("width").removesuffix("pt"))
    assert float(svg.get("viewBox").split()[2]) == pytest.approx(width, abs=1)
    return width


def chain(n=2000):
    x = Value(0.5, "x")
    y = x
    for _ in range(n):
        y = y * 1.0001
    y.label = "y"
    return y


def demo_loss(points=5):
    """micrograd's demo loss: MLP(2, [16, 16, 1]), hinge loss on a few points, L2 term."""
    from nn.layers import MLP

    model = MLP(2, [16, 16, 1], rng=1337)
    X = [[0.5 * i - 1.0, (-1) ** i * 0.25] for i in range(points)]
    y = [(-1) ** i for i in range(points)]
    scores = [model(list(map(Value, x))) for x in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    total.backward()
    return total, model


def test_neuron_fits_720_pt_at_a_readable_scale_left_to_right():
    a, _ = neuron()
    a.backward()
    natural = svg_width(draw_graph(a, max_width=None))
    fitted = draw_graph(a)
    assert natural > 720 / 0.7  # label | data | grad side by side is too wide ...
    assert svg_width(fitted) * 0.7 <= 720  # ... fields stacked read at ≥ 70 % in 720 pt
    assert "rankdir=LR" in fitted.source and "label=\"{" not in fitted.source


def test_narrow_max_width_turns_the_graph_top_to_bottom():
    a, _ = neuron()
    dot = draw_graph(a, max_width=300)
    assert "rankdir=TB" in dot.source
    assert svg_width(dot) * 0.7 <= 300


def test_max_width_none_or_rankdir_keeps_the_natural_layout():
    a, _ = neuron()
    for dot in (draw_graph(a, max_width=None), draw_graph(a, rankdir="LR")):
        assert "rankdir=LR" in dot.source and 'label="{ ' in dot.source
    assert "text/html" not in draw_graph(a, max_width=None)._repr_mimebundle_()
    with pytest.raises(ValueError, match="max_width"):
        draw_graph(a, max_width=0)
    with pytest.raises(ValueError, match="max_width"):
        draw_graph(a, max_width=float("nan"))


def test_jupyter_html_scales_the_svg_to_the_output_width_never_below_half():
    a, _ = neuron()
    bundle = draw_graph(a)._repr_mimebundle_()
    html = bundle["text/html"]
    svg = ET.fromstring(html[html.index("<svg"): html.rindex("</svg>") + 6])
    width = float(svg.get("width").removesuffix("pt"))
    style = dict(part.split(":") for part in svg.get("style").split(";"))
    assert style["max-width"] == "100%" and style["height"] == "auto"
    assert float(style["min-width"].removesuffix("pt")) == pytest.approx(width / 2, abs=1)
    assert svg.get("viewBox") is not None
    assert "tanh" in bundle["image/svg+xml"]


def test_2000_op_chain_is_bounded_in_boxes_and_width():
    y = chain()
    dot = draw_graph(y)
    svg = svg_of(dot)
    found = texts(svg)
    records = dot.source.count("shape=record")
    assert records <= 60
    assert svg_width(dot) <= 2 * 720
    assert found.count("* 1.0001") == records  # constants are folded into their ops
    more = next(t for t in found if t.startswith("... "))
    assert int(more.split()[1]) + 2 * records == 4001  # every Value is drawn, folded or counted


def test_demo_loss_is_readable_by_default_neurons_and_layers_in_one_box_each():
    total, model = demo_loss(5)
    dot = draw_graph(total, model=model)
    found = texts(svg_of(dot))
    assert dot.source.count("shape=record") <= 60
    assert svg_width(dot) <= 2 * 720
    assert found.count("layers.0: 16 x relu(w.x + b)") == 5
    assert found.count("layers.1: 16 x relu(w.x + b)") == 5
    assert found.count("layers.2.neurons.0: w.x + b") == 5
    assert "sum of 337 squares" in found
    assert not any(t.startswith("... ") for t in found)  # five points fit without hiding any
    assert f"data {total.data:.4g}" in found


def test_collapse_false_keeps_every_op_and_hides_the_far_ones():
    total, model = demo_loss(2)
    found = texts(svg_of(draw_graph(total, model=model, collapse=False)))
    assert not any("w.x" in t for t in found)
    assert any(t.startswith("... ") for t in found)


def test_step_inside_a_collapsed_neuron_highlights_its_box():
    total, model = demo_loss(2)
    steps = list(backward_steps(total))
    params = set(map(id, model.parameters()))
    # A product wᵢ·xᵢ inside a neuron (not one of the regulariser's p·p).
    inner = next(s for s in steps if s.node.op == "*" and len({id(p) in params for p in s.node.parents}) == 2)
    dot = draw_graph(total, model=model, highlight=inner)
    current = [ln for ln in dot.source.splitlines() if "class=current" in ln]
    assert len(current) == 1 and "w.x + b" in current[0]

"""step_through's Python side: one layout for all steps, re-laid out for the room reported.

The browser side (clicks, keys, what is in view) is tests/browser/test_step_through.py.
"""

from __future__ import annotations

import pytest

pytest.importorskip("anywidget")
pytest.importorskip("graphviz")

from autograd_core.see.widgets import step_through
from tests.helpers import neuron


def test_every_step_is_drawn_with_the_same_layout_and_marks_the_current_node():
    stepper = step_through(neuron()[0])
    layouts = set()
    for i in range(len(stepper.steps)):
        stepper.go(i)
        svg = stepper.picture.value
        assert 'class="node current"' in svg
        assert stepper.text.value.startswith(f"step {i + 1}/{len(stepper.steps)}:")
        layouts.add(stepper._fixed)
    assert len(layouts) == 1


def test_a_narrow_output_turns_the_picture_top_to_bottom_and_redraws():
    stepper = step_through(neuron()[0])
    assert stepper._fixed[0] == "LR"
    stepper.widget.room = 380.0  # px, as the front end reports in a narrow window
    assert stepper._fixed[0] == "TB"
    width = float(stepper.picture.value.split('width="', 1)[1].split("pt", 1)[0])
    assert width <= 380 * 0.75 / 0.7


def test_a_layout_chosen_by_the_caller_is_kept_whatever_the_room():
    stepper = step_through(neuron()[0], rankdir="LR")
    before = stepper.picture.value
    stepper.widget.room = 300.0
    assert stepper._fixed[0] == "LR" and stepper.picture.value == before


def test_buttons_follow_the_ends():
    stepper = step_through(neuron()[0])
    assert stepper.buttons["first"].disabled and stepper.buttons["back"].disabled
    stepper.buttons["last"].click()
    assert stepper.index == len(stepper.steps) - 1 and stepper.buttons["next"].disabled
    stepper.buttons["back"].click()
    assert stepper.index == len(stepper.steps) - 2
    assert not stepper.buttons["next"].disabled and not stepper.buttons["back"].disabled

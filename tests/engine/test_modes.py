"""Recording switches: ``no_grad``, ``enable_grad`` and ``detect_anomaly``, each per thread."""

from __future__ import annotations

import math
import threading

import pytest

from autograd_core import (
    Function,
    Value,
    detect_anomaly,
    enable_grad,
    gradients,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
)


def test_ops_inside_no_grad_record_nothing():
    x = Value(2.0)
    with no_grad():
        y = x * 3 + 1
        assert not is_grad_enabled()
    assert y.data == 7.0
    assert y.is_leaf and y.op == "" and y.parents == ()
    assert is_grad_enabled()
    assert (x * 3).parents[0] is x


def test_no_grad_as_a_decorator():
    @no_grad()
    def update(p):
        return p - 0.1 * p

    x = Value(1.0)
    y = update(x)
    assert y.data == 0.9 and y.is_leaf
    assert update.__name__ == "update"
    assert is_grad_enabled()


def test_nested_switches_restore_the_previous_setting():
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled()
            x = Value(1.0)
            assert (x * x).parents == (x, x)
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_enable_grad_as_a_decorator_inside_no_grad():
    @enable_grad()
    def square(v):
        return v * v

    x = Value(3.0)
    with no_grad():
        y = square(x)
    assert y.parents == (x, x)


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert is_grad_enabled()


def test_function_apply_inside_no_grad_records_nothing():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return (2 * g,)

    with no_grad():
        y = Double.apply(Value(1.0))
    assert y.data == 2.0 and y.is_leaf


def test_backward_still_works_inside_no_grad():
    x = Value(3.0)
    y = x * x
    with no_grad():
        y.backward()
    assert x.grad == 6.0


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    x = Value(2.0)
    a_inside = threading.Event()
    b_done = threading.Event()
    results: dict[str, Value] = {}
    errors: list[BaseException] = []

    def thread_a():
        try:
            with no_grad():
                a_inside.set()
                assert b_done.wait(10)
                results["a"] = x * x
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)

    def thread_b():
        try:
            assert a_inside.wait(10)
            results["b"] = x * x
            results["b_enabled"] = is_grad_enabled()  # type: ignore[assignment]
        except BaseException as e:
            errors.append(e)
        finally:
            b_done.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert results["a"].is_leaf
    assert results["b"].parents == (x, x) and results["b_enabled"] is True


def test_a_new_thread_records_even_when_the_main_thread_is_in_no_grad():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append((is_grad_enabled(), (Value(1.0) * 2).is_leaf)))
        t.start()
        t.join(10)
    assert seen == [(True, False)]


def test_anomaly_detection_is_off_by_default():
    assert not is_anomaly_enabled()
    assert math.isnan(Value(-1.0).log().data)


def test_forward_nan_raises_naming_op_inputs_and_labels():
    x = Value(-1.0, "x")
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        x.log()
    message = str(info.value)
    assert "'log'" in message and "forward" in message
    assert "-1.0" in message and "'x'" in message


def test_forward_nan_of_a_binary_op_names_both_inputs():
    a, b = Value(math.inf, "a"), Value(math.inf, "b")
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        a - b
    message = str(info.value)
    assert "'-'" in message and "'a' = inf" in message and "'b' = inf" in message


def test_infinities_are_not_anomalies():
    with detect_anomaly():
        assert Value(1000.0).exp().data == math.inf


def _backward_nan_graph() -> tuple[Value, Value]:
    # sqrt'(0) = inf meets an upstream 0: the forward is finite, the gradient is inf·0 = nan.
    x = Value(0.0, "x")
    r = x.sqrt()
    r.label = "root"
    return x, r * 0.0


def test_backward_nan_raises_naming_op_inputs_and_labels():
    _, y = _backward_nan_graph()
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        y.backward()
    message = str(info.value)
    assert "backward of op 'sqrt'" in message and "'root'" in message
    assert "input 0 'x' = 0.0" in message and "inf" in message


def test_backward_nan_passes_silently_without_anomaly_detection():
    x, y = _backward_nan_graph()
    y.backward()
    assert math.isnan(x.grad)


def test_anomaly_detection_covers_gradients_and_create_graph():
    x, y = _backward_nan_graph()
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match="sqrt"):
            gradients(y, [x])
        with pytest.raises(FloatingPointError):
            y.backward(create_graph=True)


def test_detect_anomaly_as_a_decorator_and_restored_after():
    @detect_anomaly()
    def f():
        assert is_anomaly_enabled()
        return Value(-1.0).sqrt()

    with pytest.raises(FloatingPointError, match="sqrt"):
        f()
    assert not is_anomaly_enabled()


def test_anomaly_detection_is_per_thread():
    seen = []
    with detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(math.isnan(Value(-1.0).log().data)))
        t.start()
        t.join(10)
    assert seen == [True]


def test_one_switch_instance_shared_by_two_threads_restores_each_threads_setting():
    shared = enable_grad()
    a_entered, b_entered, a_left = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def thread_a():
        with no_grad():
            with shared:
                a_entered.set()
                b_entered.wait(10)
            a_left.set()
            seen["a after"] = is_grad_enabled()  # back inside its own no_grad

    def thread_b():
        a_entered.wait(10)
        with shared:
            b_entered.set()
            a_left.wait(10)
        seen["b after"] = is_grad_enabled()  # never in no_grad

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"a after": False, "b after": True}


def test_one_switch_instance_can_be_reentered():
    ng = no_grad()
    with ng:
        with ng:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()

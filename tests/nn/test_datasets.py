"""Toy data sets: shapes, labels, seeding, and scikit-learn's moons/circles draw for draw."""

from __future__ import annotations

import numpy as np
import pytest

import nn

MAKERS = [nn.make_moons, nn.make_circles, nn.make_xor, nn.make_spiral, nn.make_gaussians]


@pytest.mark.parametrize("make", MAKERS)
def test_shapes_dtypes_and_labels(make):
    X, y = make(n_samples=51, noise=0.1, seed=0)
    assert X.shape == (51, 2) and X.dtype == np.float64
    assert y.shape == (51,) and y.dtype.kind == "i"
    assert set(np.unique(y).tolist()) == {0, 1}
    assert np.abs(X).max() < 3


@pytest.mark.parametrize("make", MAKERS)
def test_same_seed_same_data_and_different_seed_different_data(make):
    X1, y1 = make(n_samples=40, noise=0.2, seed=3)
    X2, y2 = make(n_samples=40, noise=0.2, seed=3)
    X3, _ = make(n_samples=40, noise=0.2, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", MAKERS)
def test_bad_arguments_are_rejected(make):
    with pytest.raises(ValueError, match="n_samples"):
        make(n_samples=1)
    with pytest.raises(ValueError, match="noise"):
        make(noise=-0.1)
    with pytest.raises(TypeError, match="seed"):
        make(seed="abc")


@pytest.mark.parametrize("kwargs", [dict(n_samples=100, noise=0.1), dict(n_samples=37, noise=0.3),
                                    dict(n_samples=20, noise=0.0, shuffle=False)])
def test_moons_equal_scikit_learns(kwargs):
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = nn.make_moons(seed=1337, **kwargs)
    Xr, yr = datasets.make_moons(random_state=1337, **kwargs)
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y, yr)


def test_circles_equal_scikit_learns():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = nn.make_circles(n_samples=61, noise=0.05, factor=0.5, seed=7)
    Xr, yr = datasets.make_circles(n_samples=61, noise=0.05, factor=0.5, random_state=7)
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y, yr)


def test_moons_without_seed_use_numpys_global_generator_like_micrograds_demo():
    np.random.seed(1337)
    X, y = nn.make_moons(100, noise=0.1)
    X2, y2 = nn.make_moons(100, noise=0.1, seed=1337)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_noiseless_moons_lie_on_their_half_circles():
    X, y = nn.make_moons(40, seed=0)
    upper = X[y == 0]
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)


def test_noiseless_xor_labels_follow_the_quadrant_product():
    X, y = nn.make_xor(200, seed=1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    assert np.abs(X).min() >= 0.3 / 5


def test_gaussians_are_centred_at_plus_and_minus_two_fifths():
    X, y = nn.make_gaussians(2000, seed=2)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [0.4, 0.4], atol=0.05)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-0.4, -0.4], atol=0.05)


def test_spiral_radius_grows_along_each_arm():
    X, y = nn.make_spiral(100, seed=0, shuffle=False)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.all(np.diff(radius[y == 1]) > 0) and np.all(np.diff(radius[y == 0]) > 0)


def test_to_pm1_maps_zero_one_to_minus_plus_one():
    assert nn.to_pm1(np.array([0, 1, 1])).tolist() == [-1, 1, 1]
    with pytest.raises(ValueError, match=r"labels in \{0, 1\}, got 2"):
        nn.to_pm1([0, 2])

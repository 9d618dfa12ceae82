import numpy as np
import pytest

import fastpg


@pytest.mark.parametrize("gamma", [-0.1, 1.5, np.nan, [0.5, 2.0, 0.5]])
def test_gamma_out_of_range(gamma):
    with pytest.raises(ValueError, match="gamma must lie in"):
        fastpg.discounted_returns(np.ones(3), gamma)


def test_lam_out_of_range():
    with pytest.raises(ValueError, match="lam must lie in"):
        fastpg.gae(np.ones(3), np.ones(3), np.ones(3), 0.9, 1.2)


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_n(n):
    with pytest.raises((ValueError, TypeError), match="n must be"):
        fastpg.nstep_returns(np.ones(3), np.ones(3), 0.9, n)


@pytest.mark.parametrize("bad", [np.ones(3, complex), np.array([1, "a"], object), ["a", "b"]])
def test_non_real_rewards(bad):
    with pytest.raises(TypeError, match="rewards must be"):
        fastpg.discounted_returns(bad, 0.9)


def test_shape_mismatches_name_the_argument():
    with pytest.raises(ValueError, match="terminated must have the shape"):
        fastpg.discounted_returns(np.ones(3), 0.9, terminated=np.ones(4))
    with pytest.raises(ValueError, match="values must have the shape"):
        fastpg.gae(np.ones((3, 2)), np.ones((3, 3)), np.ones(2), 0.9, 0.9)
    with pytest.raises(ValueError, match="next_values must have the shape"):
        fastpg.gae(np.ones((3, 2)), np.ones((3, 2)), np.ones(5), 0.9, 0.9)
    with pytest.raises(ValueError, match="gamma of shape"):
        fastpg.discounted_returns(np.ones((3, 2)), np.full(4, 0.5))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        fastpg.discounted_returns(np.float64(1.0), 0.9)
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        fastpg.discounted_returns(np.ones((3, 2)), 0.9, axis=2)


def test_nan_flags_rejected():
    with pytest.raises(ValueError, match="terminated contains NaN"):
        fastpg.discounted_returns(np.ones(2), 0.9, terminated=[0.0, np.nan])


def test_bad_out():
    with pytest.raises(ValueError, match="out must have shape"):
        fastpg.discounted_returns(np.ones(3), 0.9, out=np.empty(4))
    with pytest.raises(TypeError, match="out must have dtype float64"):
        fastpg.discounted_returns(np.ones(3), 0.9, out=np.empty(3, np.float32))
    ro = np.empty(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        fastpg.discounted_returns(np.ones(3), 0.9, out=ro)
    with pytest.raises(TypeError, match="out must be a pair"):
        fastpg.gae(np.ones(3), np.ones(3), np.ones(3), 0.9, 0.9, out=np.empty(3))


def test_integer_rewards_are_fine_and_give_float64():
    got = fastpg.discounted_returns(np.array([10, 0, -50]), 0.8)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [-22, -40, -50])

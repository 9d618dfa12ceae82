"""PyTorch users: tensors in, tensors out (same memory), out= tensors, clear
refusals for CUDA / grad tensors."""
import numpy as np
import pytest

import fastpg

from .conftest import need
from .kernel_calls import CALLS

torch = need("torch")


def _leaves(res):
    if isinstance(res, tuple):
        return [x for r in res for x in _leaves(r)]
    return [res]


@pytest.mark.parametrize("name,arrays,kw", CALLS, ids=[c[0] for c in CALLS])
def test_tensors_in_tensors_out(backend, name, arrays, kw):
    fn = getattr(fastpg, name)
    want = fn(*[a.copy() for a in arrays], backend=backend, **kw)
    tensors = [torch.from_numpy(a.copy()) for a in arrays]
    got = fn(*tensors, backend=backend, **kw)
    if isinstance(want, tuple):  # GAEResult, ValueIterationResult, (loss, grad), ...
        assert type(got) is type(want)
    for g, w in zip(_leaves(got), _leaves(want)):
        if isinstance(w, np.ndarray):
            assert isinstance(g, torch.Tensor), (name, type(g))
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12, atol=1e-12)
        else:
            assert not isinstance(g, torch.Tensor) and g == pytest.approx(w)


def test_in_place_updates_write_the_callers_tensor(backend):
    Q = torch.zeros((2, 2), dtype=torch.float64)
    td = fastpg.q_learning(Q, [0, 0, 0], [1, 1, 1], torch.tensor([1.0, 2.0, 3.0]), [1, 1, 1],
                           [True] * 3, 0.9, 0.5, backend=backend)
    assert Q[0, 1].item() == 2.125  # the 2.125 case, written into the tensor's memory
    assert isinstance(td, torch.Tensor)


def test_out_tensor_is_returned_itself(backend):
    r = torch.tensor([10.0, 0.0, -50.0])
    out = torch.empty(3)
    res = fastpg.discounted_returns(r, 0.8, out=out, backend=backend)
    assert res is out
    np.testing.assert_allclose(out.numpy(), [-22.0, -40.0, -50.0], rtol=1e-6)  # float32
    # a NumPy input with a tensor out= gives the tensor back too
    out2 = torch.empty(3, dtype=torch.float64)
    assert fastpg.discounted_returns(np.array([10.0, 0.0, -50.0]), 0.8, out=out2,
                                     backend=backend) is out2
    rw, v = torch.randn(5, 3), torch.randn(5, 3)
    a, b = torch.empty(5, 3), torch.empty(5, 3)
    res = fastpg.gae(rw, v, v[-1], 0.99, 0.95, out=(a, b), backend=backend)
    assert res.advantages is a and res.returns is b
    want = fastpg.gae(rw.numpy(), v.numpy(), v[-1].numpy(), 0.99, 0.95, backend="numpy")
    np.testing.assert_allclose(a.numpy(), want.advantages, rtol=2e-5, atol=2e-6)


def test_refusals_name_the_argument_and_the_fix():
    with pytest.raises(TypeError, match=r"rewards is a torch tensor that requires grad.*"
                                        r"rewards\.detach\(\)"):
        fastpg.discounted_returns(torch.ones(3, requires_grad=True), 0.9)
    # a device other than the CPU ("meta" stands for CUDA here: it needs no GPU)
    with pytest.raises(TypeError, match=r"values is a torch tensor on meta.*values\.cpu\(\)"):
        fastpg.gae(torch.ones(3), torch.ones(3, device="meta"), torch.ones(()), 0.9, 0.9)
    with pytest.raises(TypeError, match=r"out\[1\] is a torch tensor on meta"):
        fastpg.gae(torch.ones(3), torch.ones(3), torch.ones(()), 0.9, 0.9,
                   out=(torch.empty(3), torch.empty(3, device="meta")))
    with pytest.raises(TypeError, match="logits: a torch tensor NumPy cannot view"):
        fastpg.softmax(torch.ones(2, 3, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="out must have dtype float32"):
        fastpg.discounted_returns(torch.ones(3), 0.9, out=torch.ones(3, dtype=torch.float64))


def test_numpy_in_numpy_out_with_torch_imported():
    res = fastpg.discounted_returns(np.ones(3), 0.5)
    assert type(res) is np.ndarray

"""PyTorch CPU tensors in, PyTorch tensors out, without copies.

A public kernel function decorated with :func:`tensors_follow` accepts torch
CPU tensors wherever it accepts arrays (``out=`` included). When any argument
is a tensor, every array it returns is a tensor too: ``torch.from_numpy`` of
the result (the same memory), or the caller's own ``out=`` tensor. A tensor on
another device, or one that requires grad, is refused with a message that
names the argument: these are CPU kernels, invisible to autograd.

torch is never imported here: a tensor can exist only once the caller has
imported it, so without torch in ``sys.modules`` the wrapper costs one
dictionary lookup.
"""
from __future__ import annotations

import functools
import inspect
import sys

import numpy as np


def _numpy_view(x, name, tensor_type, back):
    if isinstance(x, (tuple, list)) and any(isinstance(v, tensor_type) for v in x):
        return type(x)(_numpy_view(v, f"{name}[{i}]", tensor_type, back)
                       for i, v in enumerate(x))
    if not isinstance(x, tensor_type):
        return x
    if x.device.type != "cpu":
        raise TypeError(f"{name} is a torch tensor on {x.device}: fastpg's kernels run on the "
                        f"CPU; pass {name}.cpu() and move the result back with .to(device)")
    if x.requires_grad:
        raise TypeError(f"{name} is a torch tensor that requires grad: fastpg's kernels are "
                        f"not differentiable (autograd cannot see them); pass {name}.detach()")
    try:
        arr = x.numpy()  # the tensor's memory
    except (TypeError, RuntimeError) as exc:  # bfloat16, conjugate/negative views, ...
        raise TypeError(f"{name}: a torch tensor NumPy cannot view ({exc})") from None
    back[id(arr)] = x
    return arr


def _as_tensors(res, torch, back):
    if isinstance(res, np.ndarray):
        own = back.get(id(res))
        return own if own is not None else torch.from_numpy(res)
    if isinstance(res, tuple):
        items = [_as_tensors(v, torch, back) for v in res]
        return type(res)(*items) if hasattr(res, "_fields") else tuple(items)
    return res  # floats, ints (a loss, a count)


def tensors_follow(fn):
    """Let ``fn`` take torch CPU tensors and return tensors for them (see module doc)."""
    names = list(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        torch = sys.modules.get("torch")
        if torch is None:
            return fn(*args, **kwargs)
        tensor = torch.Tensor
        if not any(isinstance(v, tensor) or (isinstance(v, (tuple, list)) and
                                             any(isinstance(u, tensor) for u in v))
                   for v in (*args, *kwargs.values())):
            return fn(*args, **kwargs)
        back = {}  # id(numpy view) -> the tensor it views, so out= comes back as itself
        args = [_numpy_view(v, names[i] if i < len(names) else f"argument {i}", tensor, back)
                for i, v in enumerate(args)]
        kwargs = {k: _numpy_view(v, k, tensor, back) for k, v in kwargs.items()}
        return _as_tensors(fn(*args, **kwargs), torch, back)

    return wrapper

"""The one cache of the small constant tensors a call needs on its device.

A tensor literal made in every call would be a host-to-device copy, which
waits on CUDA; so pixel axes, weight tables, kernels and the like are made
once per argument set and device and looked up afterwards.
"""
import functools
from collections import OrderedDict
from typing import Callable

import torch

#: Most entries held: a new entry beyond this evicts the least recently
#: used one (a call needs a few dozen, a plan per batch size among them).
MAX_ENTRIES = 256

_CACHE: 'OrderedDict[tuple, object]' = OrderedDict()


def _hashable(value):
    """``value`` as part of a key: devices normalised, sequences as tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, str) and value.split(':')[0] in ('cpu', 'cuda',
                                                          'mps', 'xpu'):
        return torch.device(value)
    return value


def device_constant(make: Callable) -> Callable:
    """Decorate ``make(*args)`` (arguments hashable once sequences become
    tuples; a device, a dtype and sizes among them) so that it runs once
    per argument set: its result is kept in the shared bounded cache."""
    tag = (f'{make.__module__}.{make.__qualname__}', )

    @functools.wraps(make)
    def cached(*args):
        if torch.compiler.is_compiling():
            # traced once: the values become constants of the graph, and
            # the graph guards on nothing the cache holds
            return make(*args)
        key = tag + _hashable(args)
        value = _CACHE.get(key)
        if value is None:
            value = _CACHE[key] = make(*args)
            if len(_CACHE) > MAX_ENTRIES:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        return value

    return cached


@device_constant
def constant(values, device, dtype=torch.float32, shape=None
             ) -> torch.Tensor:
    """``torch.tensor(values)`` on ``device`` (viewed as ``shape`` if
    given), made once."""
    value = torch.tensor(values, dtype=dtype, device=device)
    return value if shape is None else value.view(shape)


@device_constant
def arange(n: int, device) -> torch.Tensor:
    """``torch.arange(n)`` (long) on ``device``, made once."""
    return torch.arange(n, device=device)

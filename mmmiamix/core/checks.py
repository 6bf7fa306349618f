"""Argument checks shared by the core: clear errors naming the argument."""
import math
import numbers
from typing import Sequence, Tuple

import torch


def check_positive(name: str, value) -> float:
    """Return ``value`` as float; raise unless it is a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a positive number, got {value!r}')
    if not value > 0 or value != value or value == float('inf'):
        raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
    return float(value)


def check_prob(name: str, value) -> float:
    """Return ``value`` as float; raise unless it is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'{name} must be a probability in [0, 1], '
                        f'got {value!r}')
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'{name} must be a probability in [0, 1], '
                         f'got {value!r}')
    return float(value)


def check_range(name: str, value, low=None, high=None,
                integer: bool = False) -> Tuple[float, float]:
    """Return ``(min, max)``; raise unless ``low <= min <= max <= high``."""
    if (not isinstance(value, Sequence) or isinstance(value, str)
            or len(value) != 2):
        raise TypeError(f'{name} must be a (min, max) pair, got {value!r}')
    kind = numbers.Integral if integer else numbers.Real
    if not all(isinstance(v, kind) and not isinstance(v, bool)
               for v in value):
        what = 'integers' if integer else 'numbers'
        raise TypeError(f'{name} must hold two {what}, got {value!r}')
    lo, hi = value
    if lo > hi:
        raise ValueError(f'{name} must have min <= max, got {value!r}')
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise ValueError(f'{name} must lie within [{low}, {high}], '
                         f'got {value!r}')
    return (int(lo), int(hi)) if integer else (float(lo), float(hi))


def check_weights(name: str, value, length: int) -> Tuple[float, ...]:
    """Return non-negative sampling weights of ``length``, positive sum."""
    if (not isinstance(value, Sequence) or isinstance(value, str)
            or len(value) != length):
        raise ValueError(f'{name} must be a sequence of {length} weights, '
                         f'got {value!r}')
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
               for v in value):
        raise TypeError(f'{name} must hold numbers, got {value!r}')
    if not all(math.isfinite(v) for v in value):
        raise ValueError(f'{name} must hold finite weights, got {value!r}')
    if any(v < 0 for v in value) or not sum(value) > 0:
        raise ValueError(f'{name} must be >= 0 with a positive sum, '
                         f'got {value!r}')
    return tuple(float(v) for v in value)


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """Return ``value``; raise unless it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, '
                         f'got {value!r}')
    return value


def check_batch(inputs, batch_score=None, min_size: int = 8) -> None:
    """Check a batch of images ``(B, C, H, W)`` and scores ``(B, classes)``."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f'inputs must be a torch.Tensor, got {type(inputs)}')
    if inputs.dim() != 4:
        raise ValueError('inputs must be 4-D (B, C, H, W), got shape '
                         f'{tuple(inputs.shape)}')
    if not inputs.is_floating_point():
        raise TypeError(f'inputs must be a float tensor, got {inputs.dtype}')
    if inputs.shape[0] < 1:
        raise ValueError('inputs must hold at least one sample')
    if min(inputs.shape[-2:]) < min_size:
        raise ValueError(f'inputs must be at least {min_size}x{min_size} '
                         f'pixels, got {tuple(inputs.shape[-2:])}')
    if batch_score is None:
        return
    if not isinstance(batch_score, torch.Tensor):
        raise TypeError('batch_score must be a torch.Tensor, got '
                        f'{type(batch_score)}')
    if batch_score.dim() != 2:
        raise ValueError('batch_score must be 2-D (B, num_classes) one-hot '
                         'or soft scores, got shape '
                         f'{tuple(batch_score.shape)}')
    if batch_score.shape[0] != inputs.shape[0]:
        raise ValueError('batch_score must have the batch size of inputs: '
                         f'{batch_score.shape[0]} != {inputs.shape[0]}')
    if batch_score.device != inputs.device:
        raise ValueError('batch_score must be on the device of inputs: '
                         f'{batch_score.device} != {inputs.device}')


def check_size(name: str, size, min_size: int = 8) -> Tuple[int, int]:
    """Return ``(H, W)`` as ints; raise unless both are ints >= min_size."""
    if (isinstance(size, (str, bytes)) or not hasattr(size, '__len__')
            or len(size) != 2):
        raise TypeError(f'{name} must be an (H, W) pair, got {size!r}')
    h, w = (int(v) for v in size)
    if h < min_size or w < min_size:
        raise ValueError(f'{name} must be at least {min_size}x{min_size}, '
                         f'got {tuple(size)!r}')
    return h, w


#: Largest ``alpha`` accepted: beyond it Beta(alpha, alpha) is 1/2 to within
#: 1e-3 anyway, and the Gamma sampler's float64 arithmetic stays exact.
MAX_ALPHA = 1e6


def check_alpha(name: str, value) -> float:
    """Return a concentration ``alpha`` in (0, MAX_ALPHA] as float."""
    value = check_positive(name, value)
    if value > MAX_ALPHA:
        raise ValueError(f'{name} must be in (0, {MAX_ALPHA:g}], got '
                         f'{value!r}')
    return value

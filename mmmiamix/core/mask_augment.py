"""Mask augmentation of MiAMix (paper §3.2.3, §4.7): rotation, shear and
smoothing of cutmix, fmix and gridmix masks.

Rotation and shear are applied by rendering the mask at warped coordinates
(:mod:`.masks`), so a rotated box stays an exact binary box. Smoothing is an
average (box) filter, as §3.2.3 describes, of a window drawn per sample;
it runs in O(1) per pixel through an integral image whatever the window.
"""
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

from .geometry import rotation_shear
from .sampling import Generator, uniform

#: The paper's smoothing windows (§4.7) at 64x64 and 224x224 pixels.
PAPER_WINDOWS = {64: (5, 7, 11, 13), 224: (9, 15, 25, 35, 45)}


def default_smooth_windows(size: Tuple[int, int]) -> Tuple[int, ...]:
    """Smoothing windows for an ``H x W`` image.

    The paper's sets at 64 and 224 pixels; for another short side ``s`` the
    nearer of the two sets (64 below 144, else 224) scaled by ``s / 64`` or
    ``s / 224``, rounded to odd sizes >= 3 no larger than ``s``. At 32x32:
    ``(3, 5, 7)``.
    """
    side = min(size)
    ref = 64 if side < 144 else 224
    windows = []
    for w in PAPER_WINDOWS[ref]:
        odd = 2 * int(math.floor(w * side / ref / 2)) + 1
        odd = min(max(odd, 3), side if side % 2 else side - 1)
        if odd not in windows:
            windows.append(odd)
    return tuple(windows)


def sample_rotation_shear(n: int, rotation_range: Tuple[float, float],
                          shear_range: Tuple[float, float], device,
                          generator: Generator = None) -> torch.Tensor:
    """Per-sample ``R(angle) @ S(shear)`` with angles uniform in the ranges
    (degrees): float32 ``(n, 2, 2)``."""
    angle = uniform(n, math.radians(rotation_range[0]),
                    math.radians(rotation_range[1]), device, generator)
    shear = uniform(n, math.radians(shear_range[0]),
                    math.radians(shear_range[1]), device, generator)
    return rotation_shear(angle, shear)


def box_filter(masks: torch.Tensor, window: int) -> torch.Tensor:
    """Average over ``window x window`` neighbourhoods, replicating edges.

    Args:
        masks: float ``(N, 1, H, W)``.
        window: odd int >= 1.
    Returns:
        float ``(N, 1, H, W)`` in the range of ``masks``.
    """
    r = window // 2
    padded = F.pad(masks, (r, r, r, r), mode='replicate')
    # Integral image along each axis: sum over a window = difference of two
    # prefix sums.
    cols = F.pad(padded.cumsum(-1), (1, 0))
    rows = cols[..., window:] - cols[..., :-window]
    acc = F.pad(rows.cumsum(-2), (0, 0, 1, 0))
    return (acc[..., window:, :] - acc[..., :-window, :]) / (window * window)


def check_windows(name: str, windows: Sequence[int]) -> Tuple[int, ...]:
    """Validate a set of smoothing windows: odd positive ints."""
    if (isinstance(windows, (str, bytes)) or not hasattr(windows, '__len__')
            or len(windows) == 0):
        raise ValueError(f'{name} must be a non-empty sequence of odd window '
                         f'sizes, got {windows!r}')
    for w in windows:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1 or w % 2 == 0:
            raise ValueError(f'{name} must hold odd ints >= 1, got {windows!r}')
    return tuple(windows)

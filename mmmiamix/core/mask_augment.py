"""Mask augmentation of MiAMix (paper §3.2.3, §4.7): rotation, shear and
smoothing of cutmix, fmix and gridmix masks.

Rotation and shear are applied by rendering the mask at warped coordinates
(:mod:`.methods`), so a rotated box stays an exact binary box.

Smoothing: §3.2.3 says "an average filter with varying window sizes", §4.7
(the implementation details) "Gaussian blurring ... with a window size chosen
randomly from [5, 7, 11, 13] for 64 x 64 images and [9, 15, 25, 35, 45] for
224 x 224". The default follows §4.7 (docs/design.md, "Mask
augmentation"): a Gaussian of ``k`` taps with ``sigma = 0.3 ((k - 1) / 2 -
1) + 0.8``, as OpenCV's ``getGaussianKernel(k, 0)`` derives it (OpenCV uses
fixed binomial tables for ``k <= 7``; the formula is used at every size
here). ``smooth_filter='box'`` gives §3.2.3's average filter. Either way
each mask is filtered with its own window in one separable pass: every
window's kernel is zero-padded to the largest window, so one grouped
convolution smooths all masks at once.
"""
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

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


def gaussian_sigma(window: int) -> float:
    """OpenCV's sigma for a Gaussian kernel of ``window`` taps."""
    return 0.3 * ((window - 1) * 0.5 - 1) + 0.8


def smoothing_kernels(windows: Sequence[int], kind: str = 'gaussian',
                      device=None) -> torch.Tensor:
    """1-D kernels of the windows, each zero-padded (centred) to the largest:
    float32 ``(len(windows) + 1, max(windows))``, rows summing to 1. The last
    row is the identity (a 1 in the middle), for masks left unsmoothed."""
    size = max(windows)
    rows = []
    for w in list(windows) + [1]:
        offset = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
        if kind == 'gaussian' and w > 1:
            taps = torch.exp(-offset.square() / (2 * gaussian_sigma(w) ** 2))
        else:
            taps = torch.ones(w, dtype=torch.float64)
        pad = (size - w) // 2
        rows.append(F.pad(taps / taps.sum(), (pad, pad)))
    return torch.stack(rows).float().to(device)


def smooth_masks(masks: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Filter each mask with its own separable kernel, replicating edges.

    Args:
        masks: float ``(N, 1, H, W)``.
        kernels: float ``(N, K)``, K odd, each row summing to 1.
    Returns:
        float ``(N, 1, H, W)`` in the range of ``masks``.
    """
    n, _, h, w = masks.shape
    k = kernels.shape[1]
    r = k // 2
    padded = F.pad(masks.view(1, n, h, w), (r, r, r, r), mode='replicate')
    kernels = kernels.to(masks.dtype)
    rows = F.conv2d(padded, kernels.view(n, 1, 1, k), groups=n)
    del padded
    out = F.conv2d(rows, kernels.view(n, 1, k, 1), groups=n)
    return out.view(n, 1, h, w)


def smooth_separable(rows: torch.Tensor, cols: torch.Tensor,
                     kernels: torch.Tensor) -> torch.Tensor:
    """:func:`smooth_masks` of the masks ``rows * cols``, filtering each
    factor alone (the padding and the filter are separable too).

    Args:
        rows: float ``(N, 1, H, 1)``; cols: float ``(N, 1, 1, W)``.
        kernels: float ``(N, K)``, K odd, each row summing to 1.
    Returns:
        float ``(N, 1, H, W)``.
    """
    n, k = kernels.shape
    r = k // 2
    weight = kernels.to(rows.dtype).view(n, 1, k)

    def smooth(line):  # (N, L) filtered along L
        padded = F.pad(line.view(1, n, -1), (r, r), mode='replicate')
        return F.conv1d(padded, weight, groups=n).view(n, -1)

    return (smooth(rows.reshape(n, -1)).view(n, 1, -1, 1) *
            smooth(cols.reshape(n, -1)).view(n, 1, 1, -1))


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
        if (isinstance(w, bool) or not isinstance(w, int) or w < 1
                or w % 2 == 0):
            raise ValueError(f'{name} must hold odd ints >= 1, '
                             f'got {windows!r}')
    return tuple(windows)

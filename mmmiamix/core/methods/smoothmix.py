"""SmoothMix (Lee et al., CVPR-W 2020): a Gaussian blob at a random centre,
its spread ``sigma`` drawn between 0.25 and 0.5 of the side (OpenMixup's
range), as a mask method that delivers the share asked.

The blob ``G(p) = exp(-(y - cy)^2 / (2 sy^2) - (x - cx)^2 / (2 sx^2))``
(peak 1 at the centre ``c ~ U(image)``, ``sy = t H``, ``sx = t W`` with
``t ~ U(sigma_range)``) carries the smaller share ``s = min(lam, 1 - lam)``,
as GMix's does: ``M = B`` for ``lam <= 1/2``, ``M = 1 - B`` above, with

    ``B = min(1, a G)``, the peak ``a >= 0`` solved so that ``mean(B) = s``.

For ``a <= 1`` (a share the whole blob can carry) ``a = s / mean(G)``,
exact because ``G`` is separable: its mean over the pixels is the product
of its rows' and columns' means. A larger share flattens the blob's top
at 1 (a soft-edged disc, SmoothMix's circle); ``mean(B)`` is concave and
increasing in ``a``, and a few Newton steps on ``log a`` from ``s / mean(G)``
reach it (3 steps: within 2e-4 at 8x8, float rounding from 32x32 up). The
mean of ``M`` is thus the share asked whatever the centre and ``sigma``.
"""
import numbers
from typing import Optional, Tuple

import torch

from ..constants import device_constant
from ..geometry import pixel_axes
from .registry import Arg, MaskMethod, Params, Size

#: Newton steps of the peak's solve (docs: module docstring).
NEWTON_STEPS = 3
#: A Newton step changes ``log a`` by at most this (extreme ``sigma`` only).
MAX_LOG_STEP = 8.0
#: Floor of the blob's mean (a ``sigma`` so small that it underflows).
MIN_MEAN = 1e-20

_pixel_axes = device_constant(pixel_axes)


def check_sigma_range(name: str, value) -> Tuple[float, float]:
    """``sigma_range``: ``(min, max)`` spreads as shares of the side,
    ``0 < min <= max``."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            for v in value)):
        raise TypeError(f'{name} must be a (min, max) pair of numbers > 0 '
                        f'(spreads as shares of the side), got {value!r}')
    lo, hi = (float(v) for v in value)
    if not 0 < lo <= hi < float('inf'):
        raise ValueError(f'{name} must satisfy 0 < min <= max (finite), got '
                         f'{value!r}')
    return lo, hi


def smoothmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size,
                     sigma_range: Tuple[float, float] = (0.25, 0.5)
                     ) -> Params:
    """Per-sample blobs from 3 uniforms ``u`` (float ``(N, 3)`` in [0, 1)):
    ``lam`` (float32 ``(N,)``, the share asked), the centre ``cy, cx`` and
    the spreads ``sy = t H``, ``sx = t W`` (float ``(N,)``, pixels), ``t ~
    U(sigma_range)``."""
    lo, hi = sigma_range
    t = lo + (hi - lo) * u[..., 2]
    return {'lam': lam.float(), 'cy': u[..., 0] * size[0],
            'cx': u[..., 1] * size[1], 'sy': t * size[0], 'sx': t * size[1]}


def blob_factors(params: Params, size: Size
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The blob ``G`` as its factors: float32 rows ``(N, 1, H, 1)`` and
    columns ``(N, 1, 1, W)`` in (0, 1], ``G = rows * cols``."""
    ys, xs = _pixel_axes(tuple(size), params['lam'].device)
    n = params['lam'].shape[0]

    def factor(axis, centre, spread):
        d = (axis - centre.view(n, 1, 1, 1)) / spread.view(n, 1, 1, 1)
        return d.square_().mul_(-0.5).exp_()

    return factor(ys, params['cy'], params['sy']), factor(
        xs, params['cx'], params['sx'])


def solve_peak(blob: torch.Tensor, mean: torch.Tensor, share: torch.Tensor,
               steps: int = NEWTON_STEPS) -> torch.Tensor:
    """The peak ``a`` (float32 ``(N, 1, 1, 1)``, >= 0) with ``mean(min(1, a
    blob)) = share``.

    Args:
        blob: float32 ``(N, 1, H, W)`` in (0, 1].
        mean: float32 ``(N, 1, 1, 1)``, the mean of ``blob`` (> 0).
        share: float32 ``(N, 1, 1, 1)`` in [0, 1).
    """
    peak = share / mean.clamp_min(MIN_MEAN)  # exact while a * blob <= 1
    for _ in range(steps):  # Newton on log a: f(a) and a f'(a)
        flat = (peak * blob).clamp_(max=1)
        got = flat.mean((1, 2, 3), keepdim=True)
        top = (flat >= 1).sum((1, 2, 3), keepdim=True) / flat[0].numel()
        step = (share - got) / (got - top).clamp_min(1e-6)
        peak = peak * step.clamp_(-MAX_LOG_STEP, MAX_LOG_STEP).exp_()
    return peak


def render_smoothmix(params: Params, size: Size,
                     warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """SmoothMix cut masks, float32 ``(N, 1, H, W)`` in [0, 1], mean the
    share ``params['lam']`` (never warped)."""
    lam = params['lam'].view(-1, 1, 1, 1)
    share = torch.minimum(lam, 1 - lam)
    rows, cols = blob_factors(params, size)
    mean = rows.mean(2, keepdim=True) * cols.mean(3, keepdim=True)
    blob = rows * cols
    mask = blob.mul_(solve_peak(blob, mean, share)).clamp_(max=1)
    return mask.sub_((lam > 0.5).float()).abs_()  # 1 - B where inverted


SMOOTHMIX = MaskMethod(
    'smoothmix', smoothmix_params, render_smoothmix, n_uniform=3,
    args={'sigma_range': Arg((0.25, 0.5), check_sigma_range)})

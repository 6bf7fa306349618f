"""Gaussian blobs: GMix (Park et al., 2022) and AGMix (Liang et al., 2023,
MiAMix §3.1), one renderer from the blob's exponent coefficients."""
import math
from typing import Optional, Tuple

import torch

from ..checks import check_range
from ..constants import constant, device_constant
from ..geometry import pixel_axes
from .registry import Arg, Family, MaskMethod, Params, Size


def gaussian_coefficients(params: Params, size: Size) -> torch.Tensor:
    """The blob of each sample as float32 ``(..., 7)``: the exponent's
    coefficients ``pyy, pxx, pxy`` on ``(dy^2, dx^2, dy dx)`` for ``d = p -
    c``, the centre ``cy, cx`` (pixels), 1 where the blob is not empty and
    1 where the mask is inverted.

    ``G_s = exp(-pi sqrt(1-q^2) d^T (R S R^T)^-1 d / (s H W))`` with ``S =
    [[1, q], [q, 1]]`` and ``R`` a rotation by ``theta``; its untruncated
    integral is ``s H W`` for every ``q``. The blob carries the smaller
    share ``s = min(lam, 1 - lam)``, as in Park et al.'s reference GMix: ``M
    = G_lam`` for ``lam <= 1/2``, ``M = 1 - G_(1 - lam)`` above. Without
    ``q``, ``theta`` (GMix) the blob is isotropic.
    """
    lam = params['lam']
    dev = lam.device
    share = torch.minimum(lam, 1 - lam)
    scale = share.clamp_min(1e-12).reciprocal_().mul_(
        -math.pi / (size[0] * size[1]))
    q = params.get('q')
    iso = constant((1.0, 1.0, 0.0), dev)
    if q is None:  # GMix: pyy = pxx = scale, pxy = 0
        p = scale.unsqueeze(-1) * iso
    else:
        # (R S R^T)^-1 = R S^-1 R^T, S^-1 = [[1, -q], [-q, 1]] / (1 - q^2),
        # times sqrt(1 - q^2): on (dy^2, dx^2, dy dx) the coefficients are
        # (1 - q sin 2t, 1 + q sin 2t, -2 q cos 2t) / sqrt(1 - q^2).
        scale = scale * torch.rsqrt(1 - q.square())
        trig = torch.sin((2 * params['theta']).unsqueeze(-1) +
                         constant((0.0, math.pi / 2), dev))
        p = torch.addcmul(iso, q.unsqueeze(-1), trig @ constant(
            ((-1.0, 1.0, 0.0), (0.0, 0.0, -2.0)), dev)) * scale.unsqueeze(-1)
    flags = (torch.stack([share, lam], -1) > constant((0.0, 0.5), dev)
             ).float()
    return torch.cat([p, torch.stack([params['cy'], params['cx']], -1),
                      flags], -1)


cached_pixel_axes = device_constant(pixel_axes)


def render_gaussian(coef: torch.Tensor, size: Size, warp=None
                    ) -> torch.Tensor:
    """Gaussian cut masks from :func:`gaussian_coefficients` (float ``(N,
    7)``): float32 ``(N, 1, H, W)`` in [0, 1] (never warped)."""
    n = coef.shape[0]
    pyy, pxx, pxy, cy, cx, full, invert = coef.view(n, 7, 1, 1, 1).unbind(1)
    ys, xs = cached_pixel_axes(size, coef.device)
    dy, dx = ys - cy, xs - cx
    g = pyy * dy.square() + pxx * dx.square()  # one plane, then in place
    g.addcmul_(pxy * dy, dx).exp_()
    return torch.addcmul(invert, g, full, value=-1).abs_()  # 1 - g inverted


def gmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size) -> Params:
    """A Gaussian blob centred at ``u[:, :2]`` scaled to the image."""
    lam = lam.float()
    return {'lam': lam, 'cy': u[..., 0] * size[0], 'cx': u[..., 1] * size[1]}


def agmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size,
                 q_range: Tuple[float, float] = (-1.0, 1.0),
                 angle_range: Tuple[float, float] = (-180.0, 180.0)
                 ) -> Params:
    """GMix's draws plus ``q ~ U(q_range)`` (kept inside (-1, 1)) and a
    rotation ``theta ~ U(angle_range)`` (degrees; stored in radians), from 4
    uniforms."""
    params = gmix_params(lam, u, size)
    q = (q_range[0] + (q_range[1] - q_range[0]) * u[..., 2]).clamp_(
        -0.999, 0.999)
    lo, hi = math.radians(angle_range[0]), math.radians(angle_range[1])
    params.update(q=q, theta=lo + (hi - lo) * u[..., 3])
    return params


def render_blob(params: Params, size: Size,
                warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The blob of :func:`gaussian_coefficients` (isotropic for GMix,
    rotated and anisotropic for AGMix), float32 ``(N, 1, H, W)``."""
    return render_gaussian(gaussian_coefficients(params, size), size)


GAUSSIAN = Family('gaussian', render_gaussian, order=2, fresh=True)

GMIX = MaskMethod('gmix', gmix_params, render_blob, GAUSSIAN, n_uniform=2,
                  stack=gaussian_coefficients)

AGMIX = MaskMethod(
    'agmix', agmix_params, render_blob, GAUSSIAN, n_uniform=4,
    stack=gaussian_coefficients,
    args={'q_range': Arg((-1.0, 1.0),
                         lambda n, v: check_range(n, v, -1.0, 1.0)),
          'angle_range': Arg((-180.0, 180.0), check_range)})

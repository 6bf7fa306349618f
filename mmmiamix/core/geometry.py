"""Pixel coordinates and the affine maps used to warp masks and views.

Coordinates are in pixels at pixel centres: row ``i`` sits at ``y = i + 0.5``
and column ``j`` at ``x = j + 0.5``, so an ``H x W`` image spans
``[0, H) x [0, W)``. A 2x2 matrix ``A`` acts about the image centre ``c``:
a mask is *sampled* at ``A (p - c) + c`` for every output pixel ``p``.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .constants import constant, device_constant


def pixel_axes(size: Tuple[int, int], device) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    """Pixel-centre coordinates: float32 ``ys (1, 1, H, 1)``, ``xs (1, 1, 1,
    W)``."""
    h, w = size
    ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5
    return ys.view(1, 1, h, 1), xs.view(1, 1, 1, w)


def rotation_shear(angle: torch.Tensor, shear: torch.Tensor) -> torch.Tensor:
    """``R(angle) @ S(shear)`` for angles in radians: float ``(N, 2, 2)``.

    ``S`` is a horizontal shear ``[[1, tan(shear)], [0, 1]]``.
    """
    c, s, t = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    return torch.stack([c, c * t - s, s, s * t + c], dim=-1).view(
        *angle.shape, 2, 2)


def warp_theta(affine: torch.Tensor, size: Tuple[int, int],
               translate: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``grid_sample``'s ``theta`` (float ``(N, 2, 3)``, normalised
    coordinates, ``align_corners=False``) of a pixel-space ``affine`` (float
    ``(N, 2, 2)`` on ``(x, y)`` about the centre) and a shift ``translate``
    (float ``(N, 2)``, ``(dx, dy)`` in pixels, or None)."""
    n = affine.shape[0]
    h, w = size
    # u = 2x / W - 1: scale the off-diagonal terms by the aspect (Python
    # scalars only: a tensor literal would be a host-device copy).
    theta = affine.reshape(n, 4) * _aspect(h, w, affine)
    if translate is None:
        return F.pad(theta.view(n, 2, 2), (0, 1))
    shift = translate * _shift_scale(h, w, affine)
    return torch.cat([theta.view(n, 2, 2), shift.view(n, 2, 1)], 2)


def _aspect(h, w, like):
    return constant((1, h / w, w / h, 1), like.device, like.dtype)


def _shift_scale(h, w, like):
    return constant((2 / w, 2 / h), like.device, like.dtype)


def warp(images: torch.Tensor, affine: Optional[torch.Tensor],
         translate: Optional[torch.Tensor] = None,
         padding_mode: str = 'reflection',
         theta: Optional[torch.Tensor] = None,
         lean: bool = False) -> torch.Tensor:
    """Resample ``images`` at ``affine (p - c) + c + translate``.

    Args:
        images: float ``(N, C, H, W)``.
        affine: float ``(N, 2, 2)`` on ``(x, y)`` in pixels about the centre
            (ignored when ``theta`` is given).
        translate: float ``(N, 2)`` shift ``(dx, dy)`` in pixels, or None.
        theta: the precomputed :func:`warp_theta`, or None.
        lean: build the sampling grid by broadcasting (``(N, 2, H, W)``)
            instead of ``affine_grid`` (which also holds an ``(N, H, W, 3)``
            base grid, and on the CPU multiplies it in a slow batched matmul
            of inner size 3): less memory and CPU time, five ops for one.
    Returns:
        Bilinear resample, ``(N, C, H, W)`` of the dtype of ``images``.
        Reflection padding maps a constant image to itself.
    """
    n, _, h, w = images.shape
    if theta is None:
        theta = warp_theta(affine, (h, w), translate)
    theta = theta.to(images.dtype)
    if lean:
        ux, uy = _normalised_axes(h, w, images)
        a_x, a_y, shift = theta.view(n, 2, 3, 1, 1).unbind(2)
        grid = torch.addcmul(a_y * uy + shift, a_x, ux).permute(0, 2, 3, 1)
    else:
        grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear',
                         padding_mode=padding_mode, align_corners=False)


def _normalised_axes(h, w, like):
    """Pixel centres in grid_sample's coordinates (``align_corners=False``):
    ``ux (1, 1, 1, W)``, ``uy (1, 1, H, 1)``, cached."""
    return _unit_axes(h, w, like.device, like.dtype)


@device_constant
def _unit_axes(h, w, device, dtype):
    ux = (torch.arange(w, dtype=dtype, device=device) * 2 + 1) / w - 1
    uy = (torch.arange(h, dtype=dtype, device=device) * 2 + 1) / h - 1
    return ux.view(1, 1, 1, w), uy.view(1, 1, h, 1)

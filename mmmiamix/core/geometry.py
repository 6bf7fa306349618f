"""Pixel coordinates and the affine maps used to warp masks and views.

Coordinates are in pixels at pixel centres: row ``i`` sits at ``y = i + 0.5``
and column ``j`` at ``x = j + 0.5``, so an ``H x W`` image spans
``[0, H) x [0, W)``. A 2x2 matrix ``A`` acts about the image centre ``c``:
a mask is *sampled* at ``A (p - c) + c`` for every output pixel ``p``.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def pixel_axes(size: Tuple[int, int], device) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    """Pixel-centre coordinates: float32 ``ys (1, 1, H, 1)``, ``xs (1, 1, 1,
    W)``."""
    h, w = size
    ys = torch.arange(h, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(w, device=device, dtype=torch.float32) + 0.5
    return ys.view(1, 1, h, 1), xs.view(1, 1, 1, w)


def sample_coords(size: Tuple[int, int], affine: Optional[torch.Tensor],
                  device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Where each output pixel samples the mask.

    Args:
        affine: float ``(N, 2, 2)`` acting on ``(x, y)`` about the centre, or
            ``None`` for the identity.
    Returns:
        ``(ys, xs)``: broadcastable float32 tensors, ``(1, 1, H, 1)`` and
        ``(1, 1, 1, W)`` for the identity, else both ``(N, 1, H, W)``.
    """
    ys, xs = pixel_axes(size, device)
    if affine is None:
        return ys, xs
    h, w = size
    dy, dx = ys - h / 2, xs - w / 2
    a = affine.view(-1, 4, 1, 1, 1).unbind(1)
    x_src = a[0] * dx + a[1] * dy + w / 2
    y_src = a[2] * dx + a[3] * dy + h / 2
    return y_src, x_src


def rotation_shear(angle: torch.Tensor, shear: torch.Tensor) -> torch.Tensor:
    """``R(angle) @ S(shear)`` for angles in radians: float ``(N, 2, 2)``.

    ``S`` is a horizontal shear ``[[1, tan(shear)], [0, 1]]``.
    """
    c, s, t = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    return torch.stack([c, c * t - s, s, s * t + c], dim=-1).view(-1, 2, 2)


def warp(images: torch.Tensor, affine: torch.Tensor,
         translate: Optional[torch.Tensor] = None,
         padding_mode: str = 'reflection') -> torch.Tensor:
    """Resample ``images`` at ``affine (p - c) + c + translate``.

    Args:
        images: float ``(N, C, H, W)``.
        affine: float ``(N, 2, 2)`` on ``(x, y)`` in pixels about the centre.
        translate: float ``(N, 2)`` shift ``(dx, dy)`` in pixels, or None.
    Returns:
        Bilinear resample, ``(N, C, H, W)`` of the dtype of ``images``.
        Reflection padding maps a constant image to itself.
    """
    n, _, h, w = images.shape
    # grid_sample works in normalised coordinates u = 2x/W - 1 (align_corners
    # False): scale the pixel-space matrix accordingly.
    # (Python scalars only: a tensor literal would be a host-device copy.)
    a = affine.reshape(n, 4).unbind(1)
    theta_a = torch.stack([a[0], a[1] * (h / w), a[2] * (w / h), a[3]],
                          1).view(n, 2, 2)
    theta_t = (affine.new_zeros(n, 2, 1) if translate is None else
               torch.stack([translate[:, 0] * (2 / w),
                            translate[:, 1] * (2 / h)], 1).view(n, 2, 1))
    theta = torch.cat([theta_a, theta_t], dim=2)
    grid = F.affine_grid(theta.to(images.dtype), [n, 1, h, w],
                         align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear',
                         padding_mode=padding_mode, align_corners=False)


def degrees(value: Tuple[float, float]) -> Tuple[float, float]:
    """A (min, max) range from degrees to radians."""
    return (math.radians(value[0]), math.radians(value[1]))

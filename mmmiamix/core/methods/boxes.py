"""Boxes: CutMix (Yun et al., 2019), one box; GridMix (Baek et al., 2021),
a grid of holes. One renderer: a grid of holes over a region, CutMix being
a grid of one cell filled by its hole.

The renderer evaluates the mask at warped coordinates when given a warp:
exact rotated and sheared shapes, no resampling blur.
"""
from typing import Optional, Tuple

import torch

from ..checks import check_positive, check_range
from ..constants import constant, device_constant
from ..geometry import pixel_axes
from .registry import Arg, Family, MaskMethod, Params, Size


@device_constant
def centred_axes(size: Size, device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres relative to the image centre: float32 ``dy (1, 1, H,
    1)`` and ``dx (1, 1, 1, W)``."""
    ys, xs = pixel_axes(size, device)
    return ys - size[0] / 2, xs - size[1] / 2


def render_boxes(box: torch.Tensor, size: Size,
                 warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary mask of a grid of holes, float32 ``(N, 1, H, W)``: a pixel is
    in the mask when, along both axes, its (warped) coordinate ``t`` lies in
    the region, ``0 <= t - start < extent``, and in a hole of its cell,
    ``(t - start - offset) mod cell < hole``.

    Args:
        box: float ``(N, 2, 5)``: for the y and the x axis, ``start``,
            ``extent``, ``cell``, ``hole``, ``offset`` in pixels
            (``offset + hole <= cell``).
        warp: float ``(N, 2, 2)`` on ``(x, y)`` about the centre (see
            :mod:`..geometry`), or None for the identity.
    """
    if warp is None:  # separable: the rows' test times the columns'
        rows, cols = box_axes(box, size)
        return (rows & cols).float()
    n = box.shape[0]
    start, extent, cell, hole, offset = _box_columns(box, size)
    dy, dx = centred_axes(size, box.device)
    # Rows (y, x) of the sampled coordinates: y = a10 dx + a11 dy + H / 2,
    # x = a00 dx + a01 dy + W / 2.
    a = warp.flip(1).view(n, 2, 2, 1, 1)
    # (no name for the coordinates: they are freed before the reduction)
    return _in_holes(torch.addcmul(a[:, :, 1] * dy - start, a[:, :, 0], dx),
                     extent, cell, hole, offset).all(1, keepdim=True).float()


def box_axes(box: torch.Tensor, size: Size
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The unwarped mask of :func:`render_boxes` as its two factors: bool
    ``rows (N, 1, H, 1)`` and ``cols (N, 1, 1, W)``, the mask being ``rows &
    cols``."""
    start, extent, cell, hole, offset = _box_columns(box, size)
    dy, dx = centred_axes(size, box.device)
    rows = _in_holes(dy - start[:, :1], *(
        t[:, :1] for t in (extent, cell, hole, offset)))
    cols = _in_holes(dx - start[:, 1:], *(
        t[:, 1:] for t in (extent, cell, hole, offset)))
    return rows, cols


def _box_columns(box: torch.Tensor, size: Size) -> Tuple[torch.Tensor, ...]:
    """``start`` (relative to the image centre), ``extent``, ``cell``,
    ``hole``, ``offset``: float ``(N, 2, 1, 1)`` each, rows y and x."""
    start, *rest = box.view(box.shape[0], 2, 5, 1, 1).unbind(2)
    half = constant((size[0] / 2, size[1] / 2), box.device, torch.float32,
                    (1, 2, 1, 1))
    return (start - half, *rest)


def _in_holes(local: torch.Tensor, extent: torch.Tensor, cell: torch.Tensor,
              hole: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """``0 <= local < extent`` and ``(local - offset) mod cell < hole``,
    bool, broadcast; ``local`` (float, owned) is overwritten."""
    inside = local >= 0  # in place from here
    inside &= local < extent
    inside &= local.sub_(offset).remainder_(cell) < hole
    return inside


def cutmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size) -> Params:
    """One box per sample of ``round(lam * H * W)`` pixels (to within half a
    row), centre ``u[..., :2]`` (uniforms) scaled to the image.

    The box has ``h = round(sqrt(lam) * H)`` rows and ``w = round(lam * H * W
    / h)`` columns, so its area before clipping is ``lam * H * W`` up to
    ``h / 2`` pixels. Returns ``lam``, ``corner`` (``top, left``) and
    ``extent`` (``h, w``), float ``(..., 2)`` in pixels.
    """
    lam = lam.float()
    height, width = size
    h = torch.round(lam.sqrt() * height).clamp_(0, height)
    w = (lam * (height * width)).div_(h.clamp_min(1)).round_().clamp_(
        0, width).mul_(h > 0)
    extent = torch.stack([h, w], -1)
    corner = torch.addcmul(extent * -0.5, u[..., :2],
                           constant(size, lam.device)).round_()
    return {'lam': lam, 'corner': corner, 'extent': extent}


def cutmix_boxes(params: Params, size: Size = None) -> torch.Tensor:
    """CutMix's box as a grid of one cell filled by its hole: float ``(N,
    2, 5)``."""
    extent = params['extent']
    return torch.stack([params['corner'], extent, extent, extent,
                        torch.zeros_like(extent)], -1)


def render_cutmix(params: Params, size: Size,
                  warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary box mask, float32 ``(N, 1, H, W)``, clipped at the borders."""
    return render_boxes(cutmix_boxes(params), size, warp)


def gridmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size,
                   n_holes: Tuple[int, int], hole_aspect_ratio: float,
                   cut_area_ratio: Tuple[float, float],
                   cut_aspect_ratio: Tuple[float, float]) -> Params:
    """A grid of ``n x n`` holes over a region of the image, from 7 uniforms.

    Per sample: ``n`` uniform in ``n_holes`` (inclusive), the region's area
    share uniform in ``cut_area_ratio`` and its aspect (width / height)
    uniform in ``cut_aspect_ratio``, clipped to the image, placed uniformly.
    The region splits into ``n x n`` cells; each cell holds one hole of
    aspect ``hole_aspect_ratio`` (1: square) sized so the holes cover ``lam``
    of the image, at one random offset shared by all cells. Holes are
    clipped to their cell, so the cover falls short of ``lam`` when the
    region is too small for it. The defaults are :data:`GRIDMIX`'s.

    Returns ``lam`` and ``box``, float ``(..., 2, 5)`` (see
    :func:`render_boxes`).
    """
    lam = lam.float()
    height, width = size
    dev = lam.device
    (lo, hi), (a0, a1), (s0, s1) = n_holes, cut_area_ratio, cut_aspect_ratio
    low = constant((lo, a0 * height * width, s0), dev)
    span = constant((hi + 1 - lo, (a1 - a0) * height * width, s1 - s0), dev)
    n, area, aspect = torch.addcmul(low, u[..., :3], span).unbind(-1)
    full = constant(size, dev)
    # region (height, width) = sqrt(area / aspect), sqrt(area * aspect)
    region = torch.minimum(
        aspect.unsqueeze(-1).pow(constant((-1.0, 1.0), dev))
        .mul_(area.unsqueeze(-1)).sqrt_(), full)
    cell = region / n.floor_().unsqueeze(-1)
    area = region.prod(-1)  # clipped
    hole_h = (lam * (height * width / hole_aspect_ratio)).div_(area).clamp_(
        max=1 / hole_aspect_ratio).mul_(cell.prod(-1)).sqrt_()
    hole = torch.minimum(hole_h.unsqueeze(-1) * constant(
        (1.0, hole_aspect_ratio), dev), cell)
    start = u[..., 3:5] * (full - region)
    offset = u[..., 5:7] * (cell - hole)
    return {'lam': lam,
            'box': torch.stack([start, region, cell, hole, offset], -1)}


def render_gridmix(params: Params, size: Size,
                   warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary grid-of-holes mask, float32 ``(N, 1, H, W)``."""
    return render_boxes(params['box'], size, warp)


def _check_area(name, value):
    area = check_range(name, value, 0.0, 1.0)
    if area[0] <= 0:
        raise ValueError(f'{name} must be > 0, got {area!r}')
    return area


BOXES = Family('boxes', render_boxes, order=1, axes=box_axes, fresh=True)

CUTMIX = MaskMethod('cutmix', cutmix_params, render_cutmix, BOXES,
                    n_uniform=2, augmentable=True, stack=cutmix_boxes)

#: GridMix with OpenMixup's ranges (its defaults are written here only).
GRIDMIX = MaskMethod(
    'gridmix', gridmix_params, render_gridmix, BOXES, n_uniform=7,
    augmentable=True, stack=lambda params, size: params['box'],
    args={'n_holes': Arg((2, 6), lambda n, v: check_range(
              n, v, 1, None, integer=True)),
          'hole_aspect_ratio': Arg(1.0, check_positive),
          'cut_area_ratio': Arg((0.5, 1.0), _check_area),
          'cut_aspect_ratio': Arg((0.5, 2.0), lambda n, v: check_range(
              n, v, 1e-3, None))})

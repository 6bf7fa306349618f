"""Cut-mask generators: one per mixing method (DESIGN §1, §3).

A generator turns per-sample partner shares ``lam`` (float ``(N,)`` in
[0, 1]) into a *cut mask* ``M`` (float32 ``(N, 1, H, W)`` in [0, 1]): the
weight of the partner image at each pixel, with ``M[n].mean() ≈ lam[n]``.

Each method is split, kornia style, into ``sample_<method>`` (all random
draws, as a dict of per-sample tensors holding at least ``lam``) and
``render_<method>`` (deterministic). ``<method>_mask(lam, size)`` does both.
``render_*`` of cutmix, gridmix and fmix accept an ``affine`` ``(N, 2, 2)``
(see :mod:`.geometry`) and evaluate the mask at warped coordinates: exact
rotated and sheared shapes, no resampling blur.

References: mixup (Zhang et al., 2018), CutMix (Yun et al., 2019), FMix
(Harris et al., 2020), GridMix (Baek et al., 2021), GMix (Park et al.,
2022), AGMix (Liang et al., 2023, MiAMix §3.1).
"""
import math
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch

from .geometry import pixel_axes, sample_coords, warp
from .sampling import Generator, uniform

Params = Dict[str, torch.Tensor]
Size = Tuple[int, int]

#: FMix spectrum cut-off in cycles per image (along the longer side). With
#: amplitudes ~ 1/f**decay_power (3 by default) the power falls as f**-6, so
#: the dropped frequencies carry about 8**-4 ~ 2.4e-4 of the noise variance:
#: the thresholded masks are FMix's, drawn from 17 x 9 coefficients instead
#: of H x (W / 2 + 1). Images up to 16 pixels keep the full spectrum.
FMIX_MAX_CYCLES = 8


# --------------------------------------------------------------------- mixup
def sample_mixup(lam: torch.Tensor, size: Size,
                 generator: Generator = None) -> Params:
    """Mixup draws nothing beyond ``lam``."""
    return {'lam': lam.float()}


def render_mixup(params: Params, size: Size,
                 affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Constant mask ``lam``: a broadcast view, float32 ``(N, 1, H, W)``."""
    lam = params['lam']
    return lam.view(-1, 1, 1, 1).expand(lam.shape[0], 1, *size)


# -------------------------------------------------------------------- cutmix
def sample_cutmix(lam: torch.Tensor, size: Size,
                  generator: Generator = None) -> Params:
    """One box per sample of ``round(lam * H * W)`` pixels (to within half a
    row), centre uniform over the image.

    The box has ``h = round(sqrt(lam) * H)`` rows and ``w = round(lam * H * W
    / h)`` columns, so its area before clipping is ``lam * H * W`` up to
    ``h / 2`` pixels.
    """
    lam = lam.float()
    n, (height, width), dev = lam.shape[0], size, lam.device
    h = torch.round(lam.sqrt() * height).clamp(0, height)
    w = torch.round(lam * height * width / h.clamp_min(1)).clamp(0, width)
    w = torch.where(h > 0, w, torch.zeros_like(w))
    cy = uniform(n, 0, height, dev, generator)
    cx = uniform(n, 0, width, dev, generator)
    return {'lam': lam, 'top': torch.round(cy - h / 2),
            'left': torch.round(cx - w / 2), 'h': h, 'w': w}


def render_cutmix(params: Params, size: Size,
                  affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary box mask, float32 ``(N, 1, H, W)``, clipped at the borders."""
    ys, xs = sample_coords(size, affine, params['lam'].device)
    top, left, h, w = (params[k].view(-1, 1, 1, 1)
                       for k in ('top', 'left', 'h', 'w'))
    rows = (ys >= top) & (ys < top + h)
    cols = (xs >= left) & (xs < left + w)
    return (rows & cols).float()


# ---------------------------------------------------------------------- fmix
def _fmix_band(size: Size) -> Tuple[int, int]:
    """Rows and columns of the low-frequency band kept: ``(kh, kw)``."""
    h, w = size
    cycles = min(FMIX_MAX_CYCLES, max(h, w) // 2)
    return min(h // 2, cycles * h // max(h, w)), min(w // 2,
                                                     cycles * w // max(h, w))


def _fmix_rows(size: Size, device) -> torch.Tensor:
    kh, _ = _fmix_band(size)
    h = size[0]
    low = torch.arange(kh + 1, device=device)
    high = torch.arange(max(h - kh, kh + 1), h, device=device)
    return torch.cat([low, high])


def sample_fmix(lam: torch.Tensor, size: Size, generator: Generator = None,
                decay_power: float = 3.0, max_soft: float = 0.0) -> Params:
    """Random complex spectrum with amplitude ``1 / f**decay_power`` (f in
    cycles per pixel, floored at one cycle per image), on the low-frequency
    band of :data:`FMIX_MAX_CYCLES`.

    Returns ``lam``, ``spectrum`` (complex64 ``(N, rows, cols)``) and, when
    ``max_soft > 0``, ``soft`` (float ``(N,)``, the width of the soft edge as
    a share of the pixels).
    """
    lam = lam.float()
    n, (h, w), dev = lam.shape[0], size, lam.device
    rows = _fmix_rows(size, dev)
    kw = _fmix_band(size)[1]
    fy = torch.fft.fftfreq(h, device=dev)[rows].view(-1, 1)
    fx = torch.fft.rfftfreq(w, device=dev)[:kw + 1].view(1, -1)
    freq = (fy.square() + fx.square()).sqrt().clamp_min(1.0 / max(h, w))
    scale = freq.pow(-float(decay_power))
    re_im = torch.randn(n, rows.numel(), kw + 1, 2, device=dev,
                        generator=generator)
    spectrum = torch.view_as_complex(re_im * scale[..., None])
    params = {'lam': lam, 'spectrum': spectrum}
    if max_soft > 0:
        params['soft'] = torch.minimum(torch.full_like(lam, float(max_soft)),
                                       torch.minimum(lam, 1 - lam))
    return params


def fmix_noise(params: Params, size: Size,
               affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The low-frequency grey image FMix thresholds: float32 ``(N, 1, H,
    W)``, warped by ``affine`` (bilinear, reflected at the borders)."""
    spec = params['spectrum']
    n, (h, w) = spec.shape[0], size
    full = spec.new_zeros(n, h, w // 2 + 1)
    full[:, _fmix_rows(size, spec.device), :spec.shape[-1]] = spec
    noise = torch.fft.irfft2(full, s=(h, w)).unsqueeze(1)
    if affine is not None:
        noise = warp(noise, affine)
    return noise


def _fmix_rank_select(flat: torch.Tensor, count: torch.Tensor,
                      bins: int = 256) -> torch.Tensor:
    """1 on the ``count`` largest values of each row, 0 elsewhere.

    A two-level histogram select, sort-free: each row's range splits into
    ``bins`` bins, the bin holding the ``count``-th largest value splits
    again, and the values left in that sub-bin (usually one or two) are
    taken in index order until the row holds exactly ``count`` ones.

    Args:
        flat: float ``(N, P)``.
        count: float ``(N, 1)``, integers in [0, P].
    Returns:
        float32 ``(N, P)``, binary, each row summing to ``count``.
    """
    ones = flat.new_ones(1).expand_as(flat)

    def level(lo, width, need, outside=None):
        """Bin of each value (``bins`` for values ``outside``), the bin
        holding the ``need``-th largest value and the count above it."""
        index = (flat - lo).mul_(bins / width).floor_().clamp_(0, bins - 1)
        index = index.long()
        if outside is not None:
            index.masked_fill_(outside, bins)  # an overflow bin, ignored
        hist = flat.new_zeros(flat.shape[0], bins + 1)
        hist.scatter_add_(1, index, ones)
        hist = hist[:, :bins]
        at_or_above = hist - hist.cumsum(1) + hist.sum(1, keepdim=True)
        target = (at_or_above >= need).sum(1, keepdim=True).sub_(1).clamp_(0)
        above = at_or_above.gather(1, target) - hist.gather(1, target)
        return index, target, above

    lo = flat.amin(1, keepdim=True)
    width = (flat.amax(1, keepdim=True) - lo).clamp_min(1e-12)
    idx1, bin1, above1 = level(lo, width, count)
    in_bin = idx1 == bin1
    need = count - above1
    idx2, bin2, above2 = level(lo + bin1 * width / bins, width / bins, need,
                               ~in_bin)
    need = need - above2
    top = (idx1 > bin1) | (idx2 > bin2) & in_bin
    edge = idx2 == bin2  # implies in_bin: the others sit in the overflow bin
    # Break ties in the last sub-bin by position: exactly `count` ones.
    rank = edge.view(torch.uint8).cumsum(1, dtype=torch.int32)
    return (top | (edge & (rank <= need))).float()


def render_fmix(params: Params, size: Size,
                affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Top ``round(lam * H * W)`` pixels of the noise set to 1, the rest 0
    (a sort-free rank select, ties broken by position); when the draws hold ``soft`` (FMix's
    ``max_soft > 0``) a linear ramp over ``2 * soft * H * W`` ranks around
    the threshold instead. The mean is ``round(lam H W) / (H W)`` either way.
    Float32 ``(N, 1, H, W)``."""
    noise = fmix_noise(params, size, affine)
    n, (h, w) = noise.shape[0], size
    flat = noise.view(n, h * w)
    count = torch.round(params['lam'] * h * w).view(-1, 1)
    if 'soft' not in params:
        return _fmix_rank_select(flat, count).view(n, 1, h, w)
    order = flat.argsort(dim=1, descending=True)
    soft = torch.round(params['soft'] * h * w).view(-1, 1)
    rank = torch.arange(h * w, device=flat.device, dtype=torch.float32) + 0.5
    ramp = ((count + soft - rank) / (2 * soft).clamp_min(1)).clamp(0, 1)
    hard = (rank < count).float()
    value = torch.where(soft > 0, ramp, hard)
    return torch.zeros_like(flat).scatter_(1, order, value).view(n, 1, h, w)


# ------------------------------------------------------------------- gridmix
def sample_gridmix(lam: torch.Tensor, size: Size,
                   generator: Generator = None,
                   n_holes: Tuple[int, int] = (2, 6),
                   hole_aspect_ratio: float = 1.0,
                   cut_area_ratio: Tuple[float, float] = (0.5, 1.0),
                   cut_aspect_ratio: Tuple[float, float] = (0.5, 2.0)
                   ) -> Params:
    """A grid of ``n x n`` holes over a region of the image.

    Per sample: ``n`` uniform in ``n_holes`` (inclusive), the region's area
    share uniform in ``cut_area_ratio`` and its aspect (width / height)
    uniform in ``cut_aspect_ratio``, clipped to the image, placed uniformly.
    The region splits into ``n x n`` cells; each cell holds one hole of
    aspect ``hole_aspect_ratio`` (1: square) sized so the holes cover ``lam``
    of the image, at one random offset shared by all cells. Holes are
    clipped to their cell, so the cover falls short of ``lam`` when the
    region is too small for it.
    """
    lam = lam.float()
    num, (height, width), dev = lam.shape[0], size, lam.device
    n = torch.randint(n_holes[0], n_holes[1] + 1, (num,), device=dev,
                      generator=generator).float()
    area = uniform(num, *cut_area_ratio, dev, generator) * height * width
    aspect = uniform(num, *cut_aspect_ratio, dev, generator)
    reg_h = (area / aspect).sqrt().clamp(max=height)
    reg_w = (area * aspect).sqrt().clamp(max=width)
    cell_h, cell_w = reg_h / n, reg_w / n
    hole_share = (lam * height * width / (reg_h * reg_w)).clamp(0, 1)
    hole_h = (hole_share * cell_h * cell_w / hole_aspect_ratio).sqrt()
    hole_w = (hole_h * hole_aspect_ratio).clamp(max=cell_w)
    hole_h = hole_h.clamp(max=cell_h)
    u = torch.rand(num, 4, device=dev, generator=generator)
    return {
        'lam': lam,
        'top': u[:, 0] * (height - reg_h), 'left': u[:, 1] * (width - reg_w),
        'reg_h': reg_h, 'reg_w': reg_w, 'cell_h': cell_h, 'cell_w': cell_w,
        'hole_h': hole_h, 'hole_w': hole_w,
        'off_y': u[:, 2] * (cell_h - hole_h),
        'off_x': u[:, 3] * (cell_w - hole_w),
    }


def render_gridmix(params: Params, size: Size,
                   affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary grid-of-holes mask, float32 ``(N, 1, H, W)``."""
    ys, xs = sample_coords(size, affine, params['lam'].device)
    p = {k: v.view(-1, 1, 1, 1) for k, v in params.items()}

    def holes(coord, start, extent, cell, offset, hole):
        local = coord - start
        inside = (local >= 0) & (local < extent)
        in_hole = torch.remainder(local, cell) - offset
        return inside & (in_hole >= 0) & (in_hole < hole)

    rows = holes(ys, p['top'], p['reg_h'], p['cell_h'], p['off_y'],
                 p['hole_h'])
    cols = holes(xs, p['left'], p['reg_w'], p['cell_w'], p['off_x'],
                 p['hole_w'])
    return (rows & cols).float()


# ---------------------------------------------------------- gmix and agmix
def sample_gmix(lam: torch.Tensor, size: Size,
                generator: Generator = None) -> Params:
    """A Gaussian blob centred uniformly over the image."""
    lam = lam.float()
    n, (h, w), dev = lam.shape[0], size, lam.device
    return {'lam': lam, 'cy': uniform(n, 0, h, dev, generator),
            'cx': uniform(n, 0, w, dev, generator)}


def _gaussian(params: Params, size: Size, pxx: torch.Tensor,
              pxy: torch.Tensor, pyy: torch.Tensor) -> torch.Tensor:
    """``exp(-pi * d^T P d / (lam H W))`` with ``d = p - c`` and the
    precision ``P = [[pxx, pxy], [pxy, pyy]]`` per sample."""
    lam = params['lam']
    ys, xs = pixel_axes(size, lam.device)
    area = (lam * size[0] * size[1]).clamp_min(1e-12).view(-1, 1, 1, 1)
    dy = ys - params['cy'].view(-1, 1, 1, 1)
    dx = xs - params['cx'].view(-1, 1, 1, 1)
    k = -math.pi / area
    # One exponent, d^T P d >= 0: the 1-D terms broadcast, only the cross
    # term is a full (H, W) product.
    quad = pyy.view(-1, 1, 1, 1) * dy.square() + pxx.view(-1, 1, 1, 1) * \
        dx.square()
    if pxy is not None:
        quad = quad + (2 * pxy.view(-1, 1, 1, 1)) * dy * dx
    mask = torch.exp(k * quad)
    return mask * (lam > 0).view(-1, 1, 1, 1)


def render_gmix(params: Params, size: Size,
                affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``exp(-pi |p - c|^2 / (lam H W))``: its untruncated integral is
    ``lam H W``; float32 ``(N, 1, H, W)``, mean below ``lam`` near borders."""
    one = torch.ones_like(params['lam'])
    return _gaussian(params, size, one, None, one)


def sample_agmix(lam: torch.Tensor, size: Size, generator: Generator = None,
                 q_range: Tuple[float, float] = (-1.0, 1.0),
                 angle_range: Tuple[float, float] = (-180.0, 180.0)
                 ) -> Params:
    """GMix's draws plus ``q ~ U(q_range)`` (kept inside (-1, 1)) and a
    rotation ``theta ~ U(angle_range)`` in degrees."""
    params = sample_gmix(lam, size, generator)
    n, dev = lam.shape[0], lam.device
    q = uniform(n, *q_range, dev, generator).clamp(-0.999, 0.999)
    theta = uniform(n, math.radians(angle_range[0]),
                    math.radians(angle_range[1]), dev, generator)
    params.update(q=q, theta=theta)
    return params


def render_agmix(params: Params, size: Size,
                 affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``exp(-pi sqrt(1-q^2) d^T (R S R^T)^-1 d / (lam H W))`` with ``S =
    [[1, q], [q, 1]]`` and ``R`` a rotation by ``theta`` (paper §3.1).

    ``(R S R^T)^-1 = R S^-1 R^T`` and ``S^-1 = [[1, -q], [-q, 1]] / (1 -
    q^2)``; the factor ``sqrt(1 - q^2)`` keeps the untruncated integral at
    ``lam H W`` for every ``q``. Float32 ``(N, 1, H, W)``.
    """
    q, theta = params['q'], params['theta']
    c, s = torch.cos(theta), torch.sin(theta)
    inv = 1 / torch.sqrt(1 - q.square())
    # R [[1, -q], [-q, 1]] R^T on d = (dx, dy)
    pxx = (1 + 2 * q * c * s) * inv
    pyy = (1 - 2 * q * c * s) * inv
    pxy = -q * (c.square() - s.square()) * inv
    return _gaussian(params, size, pxx, pxy, pyy)


# ------------------------------------------------------------------ registry
class MaskMethod(NamedTuple):
    """A mixing method: how to draw its parameters and render its mask."""
    sample: Callable[..., Params]
    render: Callable[..., torch.Tensor]
    #: whether MiAMix may rotate, shear and smooth its masks (paper §3.2.3)
    augmentable: bool


MASK_METHODS: Dict[str, MaskMethod] = {
    'mixup': MaskMethod(sample_mixup, render_mixup, False),
    'cutmix': MaskMethod(sample_cutmix, render_cutmix, True),
    'fmix': MaskMethod(sample_fmix, render_fmix, True),
    'gridmix': MaskMethod(sample_gridmix, render_gridmix, True),
    'gmix': MaskMethod(sample_gmix, render_gmix, False),
    'agmix': MaskMethod(sample_agmix, render_agmix, False),
}


def make_mask(method: str, lam: torch.Tensor, size: Size,
              generator: Generator = None, **kwargs) -> torch.Tensor:
    """Cut masks of ``method`` for shares ``lam`` (float ``(N,)`` in [0, 1]):
    float32 ``(N, 1, H, W)`` on the device of ``lam``."""
    if method not in MASK_METHODS:
        raise ValueError(f'method must be one of {tuple(MASK_METHODS)}, '
                         f'got {method!r}')
    spec = MASK_METHODS[method]
    return spec.render(spec.sample(lam, tuple(size), generator, **kwargs),
                       tuple(size))


def mixup_mask(lam, size, generator=None):
    """Mixup cut mask: constant ``lam``; ``(N, 1, H, W)``."""
    return make_mask('mixup', lam, size, generator)


def cutmix_mask(lam, size, generator=None):
    """CutMix cut mask: one binary box of area ``lam``; ``(N, 1, H, W)``."""
    return make_mask('cutmix', lam, size, generator)


def fmix_mask(lam, size, generator=None, decay_power=3.0, max_soft=0.0):
    """FMix cut mask: thresholded low-frequency noise; ``(N, 1, H, W)``."""
    return make_mask('fmix', lam, size, generator, decay_power=decay_power,
                     max_soft=max_soft)


def gridmix_mask(lam, size, generator=None, **kwargs):
    """GridMix cut mask: a grid of holes; ``(N, 1, H, W)``."""
    return make_mask('gridmix', lam, size, generator, **kwargs)


def gmix_mask(lam, size, generator=None):
    """GMix cut mask: an isotropic Gaussian blob; ``(N, 1, H, W)``."""
    return make_mask('gmix', lam, size, generator)


def agmix_mask(lam, size, generator=None, **kwargs):
    """AGMix cut mask: a rotated anisotropic Gaussian blob; ``(N, 1, H,
    W)``."""
    return make_mask('agmix', lam, size, generator, **kwargs)

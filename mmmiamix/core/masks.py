"""Cut-mask generators: one per mixing method (DESIGN §1, §3).

A generator turns per-sample partner shares ``lam`` (float ``(N,)`` in
[0, 1]) into a *cut mask* ``M`` (float32 ``(N, 1, H, W)`` in [0, 1]): the
weight of the partner image at each pixel, with ``M[n].mean() ≈ lam[n]``.

Each method is split, kornia style, into drawing its parameters and
rendering them:

- ``<method>_params(lam, u, size, ...)`` turns uniforms ``u`` (float ``(N,
  n_uniform)``) into a dict of per-sample tensors holding at least ``lam``
  (FMix also takes standard normals for its spectrum); ``sample_<method>(lam,
  size, generator)`` draws those numbers and calls it;
- ``render_<method>(params, size, affine=None)`` is deterministic. Those of
  cutmix, gridmix and fmix accept an ``affine`` ``(N, 2, 2)`` (see
  :mod:`.geometry`) and evaluate the mask at warped coordinates: exact
  rotated and sheared shapes, no resampling blur.

Methods of one *family* share a renderer, so a batch that mixes methods can
render a family once over all its samples: ``boxes`` (cutmix is a grid of one
cell filled by its hole; gridmix), ``gaussian`` (gmix is agmix with ``q = 0``),
``noise`` (fmix) and ``constant`` (mixup). ``family_params`` of a method gives
its draws as the family's parameter matrix.

References: mixup (Zhang et al., 2018), CutMix (Yun et al., 2019), FMix
(Harris et al., 2020), GridMix (Baek et al., 2021), GMix (Park et al.,
2022), AGMix (Liang et al., 2023, MiAMix §3.1).
"""
import math
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch

from .geometry import pixel_axes, warp
from .sampling import Generator

Params = Dict[str, torch.Tensor]
Size = Tuple[int, int]

#: FMix spectrum cut-off in cycles per image (along the longer side). With
#: amplitudes ~ 1/f**decay_power (3 by default) the power falls as f**-6, so
#: the dropped frequencies carry about 8**-4 ~ 2.4e-4 of the noise variance:
#: the thresholded masks are FMix's, drawn from 17 x 9 coefficients instead
#: of H x (W / 2 + 1). Images up to 16 pixels keep the full spectrum.
FMIX_MAX_CYCLES = 8
#: FMix's exact threshold uses ``kthvalue`` up to this many values (rows x
#: pixels) and a sort above: on the CPU ``kthvalue`` is several times faster
#: but holds two copies of its doubled input.
SELECT_PIXELS = 1 << 20
#: ... and the dense path selects in this many chunks of rows.
SELECT_CHUNKS = 8
#: On the CPU, rows longer than this many pixels are thresholded through a
#: sample of as many of their values (see :func:`_band_threshold`).
SELECT_SAMPLE = 4096


def _column(params: Params, key: str) -> torch.Tensor:
    return params[key].view(-1, 1, 1, 1)


# --------------------------------------------------------------------- mixup
def mixup_params(lam: torch.Tensor, u: Optional[torch.Tensor], size: Size
                 ) -> Params:
    """Mixup draws nothing beyond ``lam``."""
    return {'lam': lam.float()}


def render_mixup(params: Params, size: Size,
                 affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Constant mask ``lam``: a broadcast view, float32 ``(N, 1, H, W)``."""
    lam = params['lam']
    return lam.view(-1, 1, 1, 1).expand(lam.shape[0], 1, *size)


# ------------------------------------------------------- cutmix and gridmix
def centred_axes(size: Size, device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres relative to the image centre, cached per size and
    device: float32 ``dy (1, 1, H, 1)`` and ``dx (1, 1, 1, W)``."""
    def make():
        ys, xs = pixel_axes(size, device)
        return ys - size[0] / 2, xs - size[1] / 2
    return _cache(('centred', tuple(size), torch.device(device)), make)


_AXES: Dict[tuple, object] = {}


def _cache(key, make):
    """``make()``, made once per key: the constant tensors of a call live
    on the device (a tensor literal in every call would be a host-to-device
    copy, which waits on CUDA). At most 256 entries: the cache is emptied
    before a new one would exceed that, never in the middle of a call's
    lookups of known keys."""
    value = _AXES.get(key)
    if value is None:
        if len(_AXES) >= 256:
            _AXES.clear()
        value = _AXES[key] = make()
    return value


def _pixel_axes(size: Size, device) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`~.geometry.pixel_axes`, cached per size and device."""
    return _cache(('pixel', tuple(size), torch.device(device)),
                  lambda: pixel_axes(size, device))


def render_boxes(box: torch.Tensor, size: Size,
                 affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary mask of a grid of holes, float32 ``(N, 1, H, W)``: a pixel is
    in the mask when, along both axes, its (warped) coordinate ``t`` lies in
    the region, ``0 <= t - start < extent``, and in a hole of its cell,
    ``(t - start - offset) mod cell < hole``.

    Args:
        box: float ``(N, 2, 5)``: for the y and the x axis, ``start``,
            ``extent``, ``cell``, ``hole``, ``offset`` in pixels
            (``offset + hole <= cell``). CutMix is one cell filled by its
            hole.
        affine: float ``(N, 2, 2)`` on ``(x, y)`` about the centre (see
            :mod:`.geometry`), or None for the identity.
    """
    if affine is None:  # separable: the rows' test times the columns'
        rows, cols = box_axes(box, size)
        return (rows & cols).float()
    n = box.shape[0]
    start, extent, cell, hole, offset = _box_columns(box, size)
    dy, dx = centred_axes(size, box.device)
    # Rows (y, x) of the sampled coordinates: y = a10 dx + a11 dy + H / 2,
    # x = a00 dx + a01 dy + W / 2.
    a = affine.flip(1).view(n, 2, 2, 1, 1)
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
    return (start - _half(size, box), *rest)


def _in_holes(local: torch.Tensor, extent: torch.Tensor, cell: torch.Tensor,
              hole: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """``0 <= local < extent`` and ``(local - offset) mod cell < hole``,
    bool, broadcast; ``local`` (float, owned) is overwritten."""
    inside = local >= 0  # in place from here
    inside &= local < extent
    inside &= local.sub_(offset).remainder_(cell) < hole
    return inside


def _half(size: Size, like: torch.Tensor) -> torch.Tensor:
    """``(H / 2, W / 2)`` as a cached float32 ``(1, 2, 1, 1)`` tensor."""
    return _cache(('half', tuple(size), like.device), lambda: torch.tensor(
        [size[0] / 2, size[1] / 2], device=like.device).view(1, 2, 1, 1))


def _image_size(size: Size, like: torch.Tensor) -> torch.Tensor:
    """``(H, W)`` as a cached float32 ``(2,)`` tensor."""
    return _constant(('size', tuple(size), like.device), list(size),
                     like.device)


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
                           _image_size(size, lam)).round_()
    return {'lam': lam, 'corner': corner, 'extent': extent}


def _cutmix_boxes(params: Params) -> torch.Tensor:
    extent = params['extent']
    return torch.stack([params['corner'], extent, extent, extent,
                        torch.zeros_like(extent)], -1)


def render_cutmix(params: Params, size: Size,
                  affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary box mask, float32 ``(N, 1, H, W)``, clipped at the borders."""
    return render_boxes(_cutmix_boxes(params), size, affine)


def gridmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size,
                   n_holes: Tuple[int, int] = (2, 6),
                   hole_aspect_ratio: float = 1.0,
                   cut_area_ratio: Tuple[float, float] = (0.5, 1.0),
                   cut_aspect_ratio: Tuple[float, float] = (0.5, 2.0)
                   ) -> Params:
    """A grid of ``n x n`` holes over a region of the image, from 7 uniforms.

    Per sample: ``n`` uniform in ``n_holes`` (inclusive), the region's area
    share uniform in ``cut_area_ratio`` and its aspect (width / height)
    uniform in ``cut_aspect_ratio``, clipped to the image, placed uniformly.
    The region splits into ``n x n`` cells; each cell holds one hole of
    aspect ``hole_aspect_ratio`` (1: square) sized so the holes cover ``lam``
    of the image, at one random offset shared by all cells. Holes are
    clipped to their cell, so the cover falls short of ``lam`` when the
    region is too small for it.

    Returns ``lam`` and ``box``, float ``(..., 2, 5)`` (see
    :func:`render_boxes`).
    """
    lam = lam.float()
    height, width = size
    (lo, hi), (a0, a1), (s0, s1) = n_holes, cut_area_ratio, cut_aspect_ratio
    low, span = _ranges(lam.device, (lo, a0 * height * width, s0),
                        (hi + 1 - lo, (a1 - a0) * height * width, s1 - s0))
    n, area, aspect = torch.addcmul(low, u[..., :3], span).unbind(-1)
    full = _image_size(size, lam)
    # region (height, width) = sqrt(area / aspect), sqrt(area * aspect)
    region = torch.minimum(
        aspect.unsqueeze(-1).pow(_signs(lam)).mul_(area.unsqueeze(-1))
        .sqrt_(), full)
    cell = region / n.floor_().unsqueeze(-1)
    area = region.prod(-1)  # clipped
    hole_h = (lam * (height * width / hole_aspect_ratio)).div_(area).clamp_(
        max=1 / hole_aspect_ratio).mul_(cell.prod(-1)).sqrt_()
    hole = torch.minimum(hole_h.unsqueeze(-1) * _hole_shape(
        hole_aspect_ratio, lam), cell)
    start = u[..., 3:5] * (full - region)
    offset = u[..., 5:7] * (cell - hole)
    return {'lam': lam,
            'box': torch.stack([start, region, cell, hole, offset], -1)}


def _ranges(device, low, span):
    return (_constant(('low', low, device), list(low), device),
            _constant(('span', span, device), list(span), device))


def _signs(like: torch.Tensor) -> torch.Tensor:
    return _constant(('signs', like.device), [-1.0, 1.0], like.device)


def _hole_shape(aspect: float, like: torch.Tensor) -> torch.Tensor:
    return _constant(('hole', aspect, like.device), [1.0, aspect],
                     like.device)


def _constant(key, values, device) -> torch.Tensor:
    """A small float32 tensor made once per key (see :func:`_cache`)."""
    return _cache(key, lambda: torch.tensor(values, device=device))


def _gridmix_boxes(params: Params) -> torch.Tensor:
    return params['box']


def render_gridmix(params: Params, size: Size,
                   affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary grid-of-holes mask, float32 ``(N, 1, H, W)``."""
    return render_boxes(params['box'], size, affine)


# ---------------------------------------------------------- gmix and agmix
def gaussian_coefficients(params: Params, size: Size) -> torch.Tensor:
    """The blob of each sample as float32 ``(..., 7)``: the exponent's
    coefficients ``pyy, pxx, pxy`` on ``(dy^2, dx^2, dy dx)`` for ``d = p -
    c``, the centre ``cy, cx`` (pixels), 1 where the blob is not empty and
    1 where the mask is inverted.

    ``G_s = exp(-pi sqrt(1-q^2) d^T (R S R^T)^-1 d / (s H W))`` with ``S =
    [[1, q], [q, 1]]`` and ``R`` a rotation by ``theta``; its untruncated
    integral is ``s H W`` for every ``q``. The blob carries the smaller
    share ``s = min(lam, 1 - lam)``, as in Park et al.'s reference GMix: ``M
    = G_lam`` for ``lam <= 1/2``, ``M = 1 - G_(1 - lam)`` above (DESIGN §3).
    Without ``q``, ``theta`` (GMix) the blob is isotropic.
    """
    lam = params['lam']
    share = torch.minimum(lam, 1 - lam)
    scale = share.clamp_min(1e-12).reciprocal_().mul_(
        -math.pi / (size[0] * size[1]))
    q = params.get('q')
    iso = _constant(('iso', lam.device), [1.0, 1.0, 0.0], lam.device)
    if q is None:  # GMix: pyy = pxx = scale, pxy = 0
        p = scale.unsqueeze(-1) * iso
    else:
        # (R S R^T)^-1 = R S^-1 R^T, S^-1 = [[1, -q], [-q, 1]] / (1 - q^2),
        # times sqrt(1 - q^2): on (dy^2, dx^2, dy dx) the coefficients are
        # (1 - q sin 2t, 1 + q sin 2t, -2 q cos 2t) / sqrt(1 - q^2).
        scale = scale * torch.rsqrt(1 - q.square())
        trig = torch.sin((2 * params['theta']).unsqueeze(-1) +
                         _constant(('phase', lam.device), [0.0, math.pi / 2],
                                   lam.device))
        p = torch.addcmul(iso, q.unsqueeze(-1), trig @ _constant(
            ('rot', lam.device), [[-1.0, 1.0, 0.0], [0.0, 0.0, -2.0]],
            lam.device)) * scale.unsqueeze(-1)
    flags = (torch.stack([share, lam], -1) > _constant(
        ('flags', lam.device), [0.0, 0.5], lam.device)).float()
    return torch.cat([p, torch.stack([params['cy'], params['cx']], -1),
                      flags], -1)


def render_gaussian(coef: torch.Tensor, size: Size,
                    affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Gaussian cut masks from :func:`gaussian_coefficients` (float ``(N,
    7)``): float32 ``(N, 1, H, W)`` in [0, 1]."""
    n = coef.shape[0]
    pyy, pxx, pxy, cy, cx, full, invert = coef.view(n, 7, 1, 1, 1).unbind(1)
    ys, xs = _pixel_axes(size, coef.device)
    dy, dx = ys - cy, xs - cx
    g = pyy * dy.square() + pxx * dx.square()  # one plane, then in place
    g.addcmul_(pxy * dy, dx).exp_()
    return torch.addcmul(invert, g, full, value=-1).abs_()  # 1 - g inverted


def gmix_params(lam: torch.Tensor, u: torch.Tensor, size: Size) -> Params:
    """A Gaussian blob centred at ``u[:, :2]`` scaled to the image."""
    lam = lam.float()
    return {'lam': lam, 'cy': u[..., 0] * size[0], 'cx': u[..., 1] * size[1]}


def render_gmix(params: Params, size: Size,
                affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Isotropic ``exp(-pi |p - c|^2 / (s H W))`` blob of the smaller share
    ``s`` (inverted above 1/2, see :func:`gaussian_coefficients`); float32
    ``(N, 1, H, W)``."""
    return render_gaussian(gaussian_coefficients(params, size), size)


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


def render_agmix(params: Params, size: Size,
                 affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """AGMix (paper §3.1): the rotated anisotropic blob of
    :func:`gaussian_coefficients`, float32 ``(N, 1, H, W)``."""
    return render_gaussian(gaussian_coefficients(params, size), size)


# ---------------------------------------------------------------------- fmix
def _fmix_band(size: Size) -> Tuple[int, int]:
    """Rows and columns of the low-frequency band kept: ``(kh, kw)``."""
    h, w = size
    cycles = min(FMIX_MAX_CYCLES, max(h, w) // 2)
    return min(h // 2, cycles * h // max(h, w)), min(w // 2,
                                                     cycles * w // max(h, w))


def fmix_band_shape(size: Size) -> Tuple[int, int]:
    """Shape ``(rows, cols)`` of the spectrum FMix draws at ``size``."""
    kh, kw = _fmix_band(size)
    h = size[0]
    return kh + 1 + len(range(max(h - kh, kh + 1), h)), kw + 1


def _fmix_rows(size: Size, device) -> torch.Tensor:
    """Rows of the spectrum in the band: long, cached per size and
    device."""
    kh, _ = _fmix_band(size)
    h = size[0]
    return _cache(('fmix_rows', tuple(size), torch.device(device)),
                  lambda: torch.tensor(list(range(kh + 1)) + list(
                      range(max(h - kh, kh + 1), h)), device=device))


def fmix_scale(size: Size, decay_power: float, device) -> torch.Tensor:
    """Amplitudes ``(f / f_min)**-decay_power`` of the band, float32 ``(rows,
    cols, 1)`` in (0, 1] (normalised: the threshold is scale-free, and any
    ``decay_power`` stays finite)."""
    h, w = size
    kw = _fmix_band(size)[1]
    fy = torch.fft.fftfreq(h, device=device)[_fmix_rows(size, device)]
    fx = torch.fft.rfftfreq(w, device=device)[:kw + 1]
    freq = (fy.view(-1, 1).square() + fx.view(1, -1).square()).sqrt()
    freq = (freq * max(h, w)).clamp_min(1.0)
    return freq.pow(-float(decay_power)).unsqueeze(-1)


def fmix_params(lam: torch.Tensor, normal: torch.Tensor, size: Size,
                scale: torch.Tensor, max_soft: float = 0.0) -> Params:
    """FMix draws from standard normals ``normal`` (float ``(N, rows, cols,
    2)``, see :func:`fmix_band_shape`) and the band's amplitudes ``scale``
    (:func:`fmix_scale`).

    Returns ``lam``, ``spectrum`` (complex64 ``(N, rows, cols)``) and, when
    ``max_soft > 0``, ``soft`` (float ``(N,)``, the width of the soft edge as
    a share of the pixels).
    """
    lam = lam.float()
    params = {'lam': lam,
              'spectrum': torch.view_as_complex(normal * scale)}
    if max_soft > 0:
        params['soft'] = torch.minimum(lam, 1 - lam).clamp_(max=max_soft)
    return params


def fmix_noise(params: Params, size: Size,
               affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The low-frequency grey image FMix thresholds: float32 ``(N, 1, H,
    W)``, warped by ``affine`` (bilinear, reflected at the borders)."""
    spec = params['spectrum']
    n, (h, w) = spec.shape[0], size
    # The band's rows placed in a column-limited spectrum, inverted along
    # the rows, then along the columns (irfft pads the missing ones).
    full = spec.new_zeros(n, h, spec.shape[-1])
    full[:, _fmix_rows(size, spec.device)] = spec
    noise = torch.fft.irfft(torch.fft.ifft(full, dim=1), n=w).unsqueeze(1)
    if affine is not None:
        noise = warp(noise, affine, lean=True)
    return noise


def _fmix_rank_select(flat: torch.Tensor, count: torch.Tensor,
                      select: str = 'auto') -> torch.Tensor:
    """1 on the ``count`` largest values of each row, 0 elsewhere; ties at
    the threshold broken by position (the first ones win).

    The threshold of each row is its ``(P - count)``-th smallest value,
    found in one of three ways that give the same value: a sort of the rows;
    one ``kthvalue`` (linear time) over rows padded so that one ``k`` serves
    them all; or, on the CPU for rows of more than :data:`SELECT_SAMPLE`
    pixels, that ``kthvalue`` over only the band of values a sample of the
    row places around the threshold (:func:`_band_threshold`; host reads).
    For ``count = P`` the sort's threshold is the row's minimum, whose ties
    (the whole row at least) are all taken; the others' is -inf.

    Args:
        flat: float ``(N, P)``, finite.
        count: float ``(N, 1)``, integers in [0, P].
        select: ``'sort'``, ``'kth'``, ``'band'`` or ``'auto'`` (band on
            the CPU for long rows, else kth for at most
            :data:`SELECT_PIXELS` values, else sort).
    Returns:
        float32 ``(N, P)``, binary, each row summing to ``count``.
    """
    p = flat.shape[1]
    if select == 'auto':
        select = ('band' if flat.device.type == 'cpu' and p > SELECT_SAMPLE
                  else 'kth' if flat.shape[0] * p <= SELECT_PIXELS
                  else 'sort')
    if select == 'band':
        threshold = _band_threshold(flat, count)
    elif select == 'kth':
        threshold = _padded_kth(flat, count)
    else:
        index = (p - 1 - count).clamp_(min=0).long()
        threshold = flat.sort(1).values.gather(1, index)
    return _ones_above(flat, threshold, count)


def _padded_kth(flat: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """The ``(P - count)``-th smallest value of each row (-inf for ``count =
    P``), float ``(N, 1)``: one ``kthvalue`` on rows extended by ``count``
    entries of -inf and ``P - count`` of +inf, whose ``P``-th smallest is
    the threshold. Its copies on the CPU are large (the doubled rows, their
    int64 indices)."""
    p = flat.shape[1]
    return torch.cat([flat, _pad_row(count, p, flat)], 1).kthvalue(
        p, 1, keepdim=True).values


def _band_threshold(flat: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """:func:`_padded_kth` from a band of each row's values (Floyd and
    Rivest's selection): a strided sample of :data:`SELECT_SAMPLE` values
    per row gives bounds around the threshold's rank, six standard
    deviations of a sample rank apart; the values between them (a tenth of
    the row or less) are gathered into padded rows, and the padded
    ``kthvalue`` picks the threshold among them. Exact: should a bound miss
    the threshold in any row (about 1e-9 per row for a random sample), the
    whole batch falls back to :func:`_padded_kth`. Host reads (CPU)."""
    n, p = flat.shape
    step = max(1, p // SELECT_SAMPLE)
    sample = flat[:, ::step]
    m = sample.shape[1]
    rank = p - count  # 1-based rank of the threshold, in [0, P]
    centre = (rank - 1).clamp_(min=0) * ((m - 1) / max(p - 1, 1))
    spread = 3 * math.sqrt(m)

    def bound(at, beyond):  # the sample's value at 0-based rank `at`
        value = _padded_kth(sample, (m - 1 - at.clamp(0, m - 1)).float())
        return torch.where((at < 0) | (at >= m), beyond, value)

    low = bound((centre - spread).floor_().long(), -math.inf)
    high = bound((centre + spread).ceil_().long(), math.inf)
    below = (flat < low).sum(1, keepdim=True, dtype=torch.int32)
    band = (flat >= low) & (flat <= high)
    size = band.sum(1, keepdim=True, dtype=torch.int32)
    need = rank - below  # 1-based rank of the threshold inside the band
    if not bool(((need >= 1) & (need <= size) | (rank == 0)).all()):
        return _padded_kth(flat, count)
    # the band's values, row by row, into rows padded with +inf
    row, col = band.nonzero().unbind(1)
    first = size.cumsum(0).sub_(size).squeeze(1)  # of each row's values
    rows = flat.new_full((n, int(size.max())), math.inf)
    rows[row, torch.arange(row.shape[0], device=flat.device) - first[row]] = \
        flat[row, col]
    need = need.clamp_(min=1)
    threshold = _padded_kth(rows, (rows.shape[1] - need).float())
    return torch.where(rank == 0, -math.inf, threshold)


def _ones_above(flat, threshold, count, rows=None):
    """1 above the threshold, and at it in index order until the row holds
    ``count`` ones. ``rows``: a list holding the storage of ``flat``, emptied
    once the comparisons are made."""
    above = flat > threshold
    tie = flat == threshold
    del flat
    if rows:
        rows.clear()
    # (counts in int32: a bool sum to int64 first copies the mask, 10x
    # slower on the CPU)
    need = count - above.sum(1, keepdim=True, dtype=torch.int32)
    first = tie.cumsum(1, dtype=torch.int32) <= need
    return (above | tie & first).float()


def _pad_row(count, p, like):
    """``count`` entries of -inf then ``p - count`` of +inf per row."""
    return _cache(('inf', p, like.device), lambda: torch.full(
        (p, ), float('inf'), device=like.device)).masked_fill(
            count > _cache(('ranks', p, like.device), lambda: torch.arange(
                p, device=like.device)), float('-inf'))


def threshold_owned_noise(holder: list, params: Params) -> torch.Tensor:
    """:func:`threshold_noise` of the noise in ``holder`` (a one-element
    list, emptied: the noise's storage is given up) for the dense path's
    rows of every slot: the padded ``kthvalue`` over fixed
    :data:`SELECT_CHUNKS` chunks of rows, the rows living on inside the
    padded copy, so one doubled copy is alive and the selection's own copies
    for a chunk at a time."""
    noise = holder.pop()
    if 'soft' in params:
        return threshold_noise(noise, params)
    n, _, h, w = noise.shape
    p = h * w
    count = torch.round(params['lam'] * p).view(-1, 1)
    rows = [torch.cat([noise.view(n, p), _pad_row(count, p, noise)], 1)]
    del noise
    threshold = torch.cat([part.kthvalue(p, 1, keepdim=True).values
                           for part in rows[0].chunk(SELECT_CHUNKS)])
    return _ones_above(rows[0][:, :p], threshold, count, rows).view(
        n, 1, h, w)


def render_fmix(params: Params, size: Size,
                affine: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Top ``round(lam * H * W)`` pixels of the noise set to 1, the rest 0
    (an exact rank select, ties broken by position); when the draws hold
    ``soft`` (FMix's ``max_soft > 0``) a linear ramp over ``2 * soft * H * W``
    ranks around the threshold instead. The mean is ``round(lam H W) / (H W)``
    either way. Float32 ``(N, 1, H, W)``."""
    return threshold_noise(fmix_noise(params, size, affine), params)


def threshold_noise(noise: torch.Tensor, params: Params,
                    select: str = 'auto') -> torch.Tensor:
    """FMix's threshold of ``noise`` (float ``(N, 1, H, W)``) at the shares
    ``params['lam']``: see :func:`render_fmix` (``select``: see
    :func:`_fmix_rank_select`)."""
    n, _, h, w = noise.shape
    flat = noise.view(n, h * w)
    count = torch.round(params['lam'] * (h * w)).view(-1, 1)
    if 'soft' not in params:
        return _fmix_rank_select(flat, count, select).view(n, 1, h, w)
    order = flat.argsort(dim=1, descending=True)
    soft = torch.round(params['soft'] * (h * w)).view(-1, 1)
    rank = torch.arange(h * w, device=flat.device, dtype=torch.float32) + 0.5
    ramp = ((count + soft - rank) / (2 * soft).clamp_min(1)).clamp(0, 1)
    hard = (rank < count).float()
    value = torch.where(soft > 0, ramp, hard)
    return torch.zeros_like(flat).scatter_(1, order, value).view(n, 1, h, w)


# ------------------------------------------------------------------ registry
def _uniform_sampler(params_fn, n_uniform):
    def sample(lam: torch.Tensor, size: Size, generator: Generator = None,
               **kwargs) -> Params:
        u = torch.rand(lam.shape[0], n_uniform, device=lam.device,
                       generator=generator)
        return params_fn(lam, u, tuple(size), **kwargs)

    sample.__doc__ = (f'Draw ``{params_fn.__name__}``\'s {n_uniform} '
                      'uniforms per sample and return its parameters.')
    return sample


sample_mixup = _uniform_sampler(mixup_params, 0)
sample_cutmix = _uniform_sampler(cutmix_params, 2)
sample_gridmix = _uniform_sampler(gridmix_params, 7)
sample_gmix = _uniform_sampler(gmix_params, 2)
sample_agmix = _uniform_sampler(agmix_params, 4)


def sample_fmix(lam: torch.Tensor, size: Size, generator: Generator = None,
                decay_power: float = 3.0, max_soft: float = 0.0) -> Params:
    """Random complex spectrum with amplitude ``1 / f**decay_power`` (f in
    cycles per image, floored at 1), on the band of :data:`FMIX_MAX_CYCLES`:
    see :func:`fmix_params`."""
    size = tuple(size)
    normal = torch.randn(lam.shape[0], *fmix_band_shape(size), 2,
                         device=lam.device, generator=generator)
    return fmix_params(lam, normal, size,
                       fmix_scale(size, decay_power, lam.device), max_soft)


class MaskMethod(NamedTuple):
    """A mixing method: how to draw its parameters and render its mask."""
    sample: Callable[..., Params]
    render: Callable[..., torch.Tensor]
    #: whether MiAMix may rotate, shear and smooth its masks (paper §3.2.3)
    augmentable: bool
    #: ``'constant'``, ``'boxes'``, ``'gaussian'`` or ``'noise'``
    family: str
    #: the draws as the family's parameter matrix (boxes, gaussian) or None
    family_params: Optional[Callable[[Params], torch.Tensor]]
    #: ``params(lam, u, size, **kwargs)`` from ``n_uniform`` uniforms
    params: Optional[Callable[..., Params]]
    n_uniform: int


MASK_METHODS: Dict[str, MaskMethod] = {
    'mixup': MaskMethod(sample_mixup, render_mixup, False, 'constant', None,
                        mixup_params, 0),
    'cutmix': MaskMethod(sample_cutmix, render_cutmix, True, 'boxes',
                         _cutmix_boxes, cutmix_params, 2),
    'fmix': MaskMethod(sample_fmix, render_fmix, True, 'noise', None, None,
                       0),
    'gridmix': MaskMethod(sample_gridmix, render_gridmix, True, 'boxes',
                          _gridmix_boxes, gridmix_params, 7),
    'gmix': MaskMethod(sample_gmix, render_gmix, False, 'gaussian',
                       None, gmix_params, 2),
    'agmix': MaskMethod(sample_agmix, render_agmix, False, 'gaussian',
                        None, agmix_params, 4),
}


def make_mask(method: str, lam: torch.Tensor, size: Size,
              generator: Generator = None, **kwargs) -> torch.Tensor:
    """Cut masks of ``method`` for shares ``lam`` (float ``(N,)`` in [0, 1]):
    float32 ``(N, 1, H, W)`` on the device of ``lam``.

    Checks its arguments, ``lam``'s values included (a host sync on CUDA:
    the training path calls the ``sample_*`` / ``render_*`` pairs directly).
    """
    from .checks import check_method_kwargs, check_size
    if method not in MASK_METHODS:
        raise ValueError(f'method must be one of {tuple(MASK_METHODS)}, '
                         f'got {method!r}')
    if not isinstance(lam, torch.Tensor) or lam.dim() != 1 \
            or not lam.is_floating_point():
        raise TypeError('lam must be a 1-D float tensor of shares in [0, 1], '
                        f'got {lam!r:.80}')
    if bool(((lam < 0) | (lam > 1) | lam.isnan()).any()):
        raise ValueError('lam must hold shares in [0, 1], got values in '
                         f'[{lam.min().item()}, {lam.max().item()}]')
    size = check_size('size', size)
    kwargs = check_method_kwargs(method, kwargs)
    spec = MASK_METHODS[method]
    return spec.render(spec.sample(lam, size, generator, **kwargs), size)


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
    """GMix cut mask: an isotropic Gaussian blob of the smaller share;
    ``(N, 1, H, W)``."""
    return make_mask('gmix', lam, size, generator)


def agmix_mask(lam, size, generator=None, **kwargs):
    """AGMix cut mask: a rotated anisotropic Gaussian blob of the smaller
    share; ``(N, 1, H, W)``."""
    return make_mask('agmix', lam, size, generator, **kwargs)

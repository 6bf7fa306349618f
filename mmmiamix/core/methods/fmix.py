"""FMix (Harris et al., 2020): low-frequency noise thresholded at the
share's rank, drawn from standard normals (its spectrum) rather than
uniforms."""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .. import host
from ..checks import check_positive, check_range
from ..constants import arange, device_constant
from ..geometry import warp as resample
from .registry import Arg, Family, MaskMethod, Params, Size

#: FMix spectrum cut-off in cycles per image (along the longer side). With
#: amplitudes ~ 1/f**decay_power (3 by default) the power falls as f**-6, so
#: the dropped frequencies carry about 8**-4 ~ 2.4e-4 of the noise variance:
#: the thresholded masks are FMix's, drawn from 17 x 9 coefficients instead
#: of H x (W / 2 + 1). Images up to 16 pixels keep the full spectrum.
FMIX_MAX_CYCLES = 8
#: On the CPU, rows longer than this many pixels are thresholded through a
#: sample of as many of their values (see :func:`_band_threshold`).
SELECT_SAMPLE = 4096


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


@device_constant
def _fmix_rows(size: Size, device) -> torch.Tensor:
    """Rows of the spectrum in the band: long."""
    kh, _ = _fmix_band(size)
    h = size[0]
    return torch.tensor(list(range(kh + 1)) + list(
        range(max(h - kh, kh + 1), h)), device=device)


@device_constant
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
                decay_power: float, max_soft: float) -> Params:
    """FMix draws from standard normals ``normal`` (float ``(N, rows, cols,
    2)``, see :func:`fmix_band_shape`) times the band's amplitudes
    (:func:`fmix_scale`); the defaults are :data:`FMIX`'s.

    Returns ``lam``, ``spectrum`` (complex64 ``(N, rows, cols)``) and, when
    ``max_soft > 0``, ``soft`` (float ``(N,)``, the width of the soft edge as
    a share of the pixels).
    """
    lam = lam.float()
    params = {'lam': lam,
              'spectrum': torch.view_as_complex(
                  normal * fmix_scale(size, decay_power, lam.device))}
    if max_soft > 0:
        params['soft'] = torch.minimum(lam, 1 - lam).clamp_(max=max_soft)
    return params


def fmix_noise(params: Params, size: Size,
               warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The low-frequency grey image FMix thresholds: float32 ``(N, 1, H,
    W)``, warped by ``warp`` (bilinear, reflected at the borders)."""
    spec = params['spectrum']
    n, (h, w) = spec.shape[0], size
    # The band's rows placed in a column-limited spectrum, inverted along
    # the rows, the missing columns padded (always, so that a call's ops do
    # not depend on the size), then inverted along the columns.
    full = spec.new_zeros(n, h, spec.shape[-1])
    full.index_copy_(1, _fmix_rows(size, spec.device), spec)
    rows = F.pad(torch.fft.ifft(full, dim=1), (0, w // 2 + 1 - full.shape[-1]))
    noise = torch.fft.irfft(rows, n=w).unsqueeze(1)
    if warp is not None:
        noise = resample(noise, warp, lean=True)
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
        select: ``'sort'``, ``'kth'``, ``'band'`` or ``'auto'`` (band for
            long rows where host reads are free, else kth where a call
            costs its arithmetic, else sort: see :mod:`..host`).
    Returns:
        float32 ``(N, P)``, binary, each row summing to ``count``.
    """
    p = flat.shape[1]
    if select == 'auto':
        select = ('band' if host.host_reads_free(flat.device) and
                  p > SELECT_SAMPLE else
                  'kth' if host.arithmetic_bound(flat.device) else 'sort')
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


def _ones_above(flat, threshold, count):
    """1 above the threshold, and at it in index order until the row holds
    ``count`` ones."""
    above = flat > threshold
    tie = flat == threshold
    # (counts in int32: a bool sum to int64 first copies the mask, 10x
    # slower on the CPU)
    need = count - above.sum(1, keepdim=True, dtype=torch.int32)
    first = tie.cumsum(1, dtype=torch.int32) <= need
    return (above | tie & first).float()


@device_constant
def _infinities(p: int, device) -> torch.Tensor:
    return torch.full((p, ), float('inf'), device=device)


def _pad_row(count, p, like):
    """``count`` entries of -inf then ``p - count`` of +inf per row."""
    return _infinities(p, like.device).masked_fill(
        count > arange(p, like.device), float('-inf'))


def render_fmix(params: Params, size: Size,
                warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Top ``round(lam * H * W)`` pixels of the noise set to 1, the rest 0
    (an exact rank select, ties broken by position); when the draws hold
    ``soft`` (FMix's ``max_soft > 0``) a linear ramp over ``2 * soft * H * W``
    ranks around the threshold instead. The mean is ``round(lam H W) / (H W)``
    either way. Float32 ``(N, 1, H, W)``."""
    return threshold_noise(fmix_noise(params, size, warp), params)


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


def _render_noise(params: Params, size: Size, warp=None) -> torch.Tensor:
    """The noise family: every row's noise, the first ``len(warp)`` rows
    warped (the others keep their exact unwarped noise), thresholded at
    each row's share."""
    noise = fmix_noise(params, size)
    if warp is not None:
        n = warp.shape[0]
        noise[:n] = resample(noise[:n], warp,
                             lean=host.arithmetic_bound(noise.device))
    return threshold_noise(noise, params)


def _check_soft(name, value):
    return check_range(name, (0.0, value), 0.0, 0.5)[1]


NOISE = Family('noise', _render_noise, order=0, fresh=True)

FMIX = MaskMethod(
    'fmix', fmix_params, render_fmix, NOISE, augmentable=True,
    normal_shape=lambda size: (*fmix_band_shape(size), 2),
    args={'decay_power': Arg(3.0, check_positive),
          'max_soft': Arg(0.0, _check_soft)})

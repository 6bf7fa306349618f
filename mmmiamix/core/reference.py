"""A plain per-sample reference implementation of MiAMix (Algorithm 1): the
readable specification the batched :meth:`MiAMix.apply` must equal.

One Python loop over the samples and one over each sample's layers, and
every mask built from the formulas of docs/design.md at each pixel, in
float64, from the parameters of the draws: the box and grid tests, FMix's
noise as an explicit sum of the band's waves and its exact rank threshold,
the Gaussians from their covariance matrices, the warp as the point rule
``A (p - c) + c``, bilinear resampling with reflected borders, and the
smoothing filters as sums of shifted copies. Nothing here calls the
batched renderers, the mask methods' ``render``, the smoothing kernels or
``grid_sample``, so a bug in those cannot pass unseen. For ``draws =
aug.sample(...)``::

    reference_apply(aug, x, y, draws) == aug.apply(x, y, draws)

to float rounding. Slow by design: :func:`reference_loop` (every stage,
the draws included, one sample at a time) is also the "obvious
implementation" that ``tools/benchmark_mixing.py`` times.

Pure PyTorch: imports nothing from OpenMMLab.
"""
import math
from typing import Dict, Optional, Tuple

import torch

from .mask_augment import gaussian_sigma
from .methods.fmix import FMIX_MAX_CYCLES

Size = Tuple[int, int]
F64 = torch.float64


# ---------------------------------------------------------------- geometry
def pixel_grid(size: Size, device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres ``(y, x)``, float64 ``(H, W)`` each: row ``i`` at ``i +
    0.5``, column ``j`` at ``j + 0.5``."""
    h, w = size
    ys = torch.arange(h, dtype=F64, device=device) + 0.5
    xs = torch.arange(w, dtype=F64, device=device) + 0.5
    return torch.meshgrid(ys, xs, indexing='ij')


def warp_points(affine: Optional[torch.Tensor], size: Size, device):
    """Where each output pixel ``p`` samples the mask: ``A (p - c) + c``
    with ``A`` (2x2 on ``(x, y)``) about the image centre ``c``; returns
    ``(y, x)``, float64 ``(H, W)``. ``affine`` None: the pixels."""
    y, x = pixel_grid(size, device)
    if affine is None:
        return y, x
    a = affine.to(F64)
    cy, cx = size[0] / 2, size[1] / 2
    dx, dy = x - cx, y - cy
    return a[1, 0] * dx + a[1, 1] * dy + cy, a[0, 0] * dx + a[0, 1] * dy + cx


def reflect(t: torch.Tensor, length: int) -> torch.Tensor:
    """Coordinates reflected into ``[0, length]`` at the borders."""
    t = torch.remainder(t, 2 * length)
    return torch.where(t > length, 2 * length - t, t)


def bilinear_reflect(image: torch.Tensor, y: torch.Tensor,
                     x: torch.Tensor) -> torch.Tensor:
    """``image`` (``(C, H, W)``) sampled at pixel coordinates ``(y, x)``
    (``(H', W')``) bilinearly, the coordinates reflected at the borders
    and the taps clamped inside: float64 ``(C, H', W')``."""
    _, h, w = image.shape
    iy = (reflect(y, h) - 0.5).clamp(0, h - 1)
    ix = (reflect(x, w) - 0.5).clamp(0, w - 1)
    y0, x0 = iy.floor(), ix.floor()
    fy, fx = iy - y0, ix - x0
    y0, x0 = y0.long(), x0.long()
    y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    img = image.to(F64)
    return (img[:, y0, x0] * (1 - fy) * (1 - fx) + img[:, y0, x1] *
            (1 - fy) * fx + img[:, y1, x0] * fy * (1 - fx) +
            img[:, y1, x1] * fy * fx)


# ------------------------------------------------------------------- masks
def box_mask(params: Dict[str, torch.Tensor], y, x) -> torch.Tensor:
    """CutMix: 1 where ``top <= y < top + h`` and ``left <= x < left +
    w``."""
    top, left = params['corner'].to(F64).tolist()
    h, w = params['extent'].to(F64).tolist()
    return ((y >= top) & (y < top + h) & (x >= left) & (x < left + w)).to(
        F64)


def grid_mask(params: Dict[str, torch.Tensor], y, x) -> torch.Tensor:
    """GridMix: along each axis inside the region, ``0 <= t - start <
    region``, and in the hole of its cell, ``(t - start - offset) mod cell <
    hole``."""
    inside = torch.ones_like(y, dtype=torch.bool)
    for axis, t in enumerate((y, x)):
        start, region, cell, hole, offset = params['box'][axis].to(
            F64).tolist()
        local = t - start
        inside &= (local >= 0) & (local < region)
        inside &= torch.remainder(local - offset, cell) < hole
    return inside.to(F64)


def fmix_band(size: Size) -> Tuple[list, int]:
    """FMix's band: the frequency rows (``0..kh`` then the negative ones
    ``H - kh .. H - 1``) and the last column ``kw``, with at most
    :data:`FMIX_MAX_CYCLES` cycles along the longer side."""
    h, w = size
    cycles = min(FMIX_MAX_CYCLES, max(h, w) // 2)
    kh = min(h // 2, cycles * h // max(h, w))
    kw = min(w // 2, cycles * w // max(h, w))
    rows = list(range(kh + 1)) + [r for r in range(h - kh, h) if r > kh]
    return rows, kw


def fmix_noise(spectrum: torch.Tensor, size: Size, device) -> torch.Tensor:
    """The real image of the band's coefficients (complex ``(rows, kw +
    1)``), summed wave by wave as the inverse real DFT does: columns 0
    and ``W / 2`` once, the others twice: float64 ``(H, W)``."""
    h, w = size
    rows, kw = fmix_band(size)
    y, x = pixel_grid(size, device)
    y, x = y - 0.5, x - 0.5  # sample indices
    noise = torch.zeros(size, dtype=F64, device=device)
    for r, fy in enumerate(rows):
        for fx in range(kw + 1):
            c = complex(spectrum[r, fx])
            twice = 1 if fx == 0 or 2 * fx == w else 2
            phase = 2 * math.pi * (fy * y / h + fx * x / w)
            noise += twice * (c.real * torch.cos(phase) -
                              c.imag * torch.sin(phase))
    return noise / (h * w)


def top_pixels(values: torch.Tensor, share: float) -> torch.Tensor:
    """1 on the ``round(share * H * W)`` largest values (ties: the first in
    row-major order), 0 elsewhere."""
    flat = values.reshape(-1)
    count = int(torch.round(torch.tensor(share, dtype=torch.float32) *
                            flat.numel()))
    order = torch.sort(flat, descending=True, stable=True).indices
    out = torch.zeros_like(flat)
    out[order[:count]] = 1
    return out.view(values.shape)


def gaussian_mask(params: Dict[str, torch.Tensor], size: Size,
                  device) -> torch.Tensor:
    """GMix / AGMix: the blob ``exp(-pi sqrt(1 - q^2) d^T (R S R^T)^-1 d /
    (s H W))``, ``d = p - c`` on ``(x, y)``, ``S = [[1, q], [q, 1]]``, ``R`` a
    rotation by ``theta``, of the smaller share ``s``; ``1 - G_(1 - lam)``
    above one half."""
    lam = float(params['lam'])
    share = min(lam, 1 - lam)
    if share <= 0:
        return torch.full(size, 0.0 if lam < 0.5 else 1.0, dtype=F64,
                          device=device)
    q = float(params['q']) if 'q' in params else 0.0
    theta = float(params['theta']) if 'theta' in params else 0.0
    rot = torch.tensor([[math.cos(theta), -math.sin(theta)],
                        [math.sin(theta), math.cos(theta)]], dtype=F64)
    cov = rot @ torch.tensor([[1.0, q], [q, 1.0]], dtype=F64) @ rot.T
    m = torch.linalg.inv(cov).to(device)
    y, x = pixel_grid(size, device)
    dx, dy = x - float(params['cx']), y - float(params['cy'])
    quad = m[0, 0] * dx * dx + (m[0, 1] + m[1, 0]) * dx * dy + \
        m[1, 1] * dy * dy
    blob = torch.exp(-math.pi * math.sqrt(1 - q * q) * quad /
                     (share * size[0] * size[1]))
    return blob if lam <= 0.5 else 1 - blob


def smooth(mask: torch.Tensor, window: int, kind: str) -> torch.Tensor:
    """The mask filtered by a ``window x window`` Gaussian (σ as OpenCV
    derives it) or average, edges replicated: a sum of shifted copies."""
    r = window // 2
    offsets = torch.arange(window, dtype=F64) - r
    if kind == 'gaussian':
        taps = torch.exp(-offsets.square() / (2 * gaussian_sigma(window)
                                               ** 2))
    else:
        taps = torch.ones(window, dtype=F64)
    taps = taps / taps.sum()
    h, w = mask.shape
    rows = torch.arange(h).view(-1, 1)
    cols = torch.arange(w).view(1, -1)
    out = torch.zeros_like(mask)
    for a in range(window):
        for b in range(window):
            shifted = mask[(rows + a - r).clamp(0, h - 1),
                           (cols + b - r).clamp(0, w - 1)]
            out += taps[a] * taps[b] * shifted
    return out


# --------------------------------------------------------------- one slot
def _row_of(draws, slot: int) -> Tuple[int, int]:
    """The row and the group of one slot."""
    row = int((draws.row_slots() == slot).nonzero()[0])
    return row, int(draws.plan.row_group[row])


def reference_cut_mask(aug, draws, i: int, j: int, size: Size,
                       augment: bool = True) -> torch.Tensor:
    """The cut mask of layer ``j`` of sample ``i``, float64 ``(H, W)``.

    Paper §3.2.3: the method's mask of share ``draws.ratios[i, j]``; for
    the augmentable methods rendered at the warped points where its row is
    warped, and smoothed with its row's window where it is smoothed.
    """
    device = draws.ratios.device
    if not bool(draws.active[i, j]):  # beyond this sample's k: empty
        return torch.zeros(size, dtype=F64, device=device)
    row, group = _row_of(draws, i * aug.k_max + j)
    spec = draws.plan.groups[group]
    name = aug.methods[spec.method]
    params = {k: v[row] for k, v in draws.masks[name].items()}
    warp = draws.affine[row] if augment and spec.warp else None
    y, x = warp_points(warp, size, device)
    if name == 'mixup':
        mask = torch.full(size, float(params['lam']), dtype=F64,
                          device=device)
    elif name == 'cutmix':
        mask = box_mask(params, y, x)
    elif name == 'gridmix':
        mask = grid_mask(params, y, x)
    elif name == 'fmix':
        noise = fmix_noise(params['spectrum'], size, device)
        if warp is not None:
            noise = bilinear_reflect(noise[None], y, x)[0]
        mask = top_pixels(noise, float(params['lam']))
    elif name in ('gmix', 'agmix'):
        mask = gaussian_mask(params, size, device)
    else:  # a user's method: its own render is its definition
        mask = _user_mask(aug, draws, name, row, size, warp)
    if augment and spec.smooth:
        window = aug.windows(size)[int(draws.window[row])]
        mask = smooth(mask, window, aug.smooth_filter)
    return mask


def _user_mask(aug, draws, name, index, size, warp):
    from .methods import get_method
    method = get_method(name)
    params = {k: v[index:index + 1] for k, v in draws.masks[name].items()}
    args = (warp.view(1, 2, 2), ) if method.augmentable and \
        warp is not None else ()
    return method.render(params, size, *args).expand(1, 1, *size)[0, 0].to(
        F64)


def reference_keep_mask(aug, cuts) -> torch.Tensor:
    """Merge one sample's cut masks (a list of ``(H, W)``) into its keep
    mask ``(H, W)`` (docs/design.md, "The mask convention")."""
    if aug.mask_merge == 'mul':
        keep = torch.ones_like(cuts[0])
        for cut in cuts:
            keep = keep * (1 - cut)
        return keep
    total = torch.zeros_like(cuts[0])
    for cut in cuts:
        total = total + cut
    return 1 - total.clamp(max=1)


def second_view_image(image: torch.Tensor,
                      view: Dict[str, torch.Tensor]) -> torch.Tensor:
    """One-view path: ``image`` (``(C, H, W)``) resampled at ``theta (p_n)``
    (``p_n`` the pixel centres in [-1, 1], ``theta`` the draws' ``(2, 3)``
    flip, zoom and shift), reflected at the borders; then the opt-in
    brightness and contrast change. Float64 ``(C, H, W)``."""
    _, h, w = image.shape
    y, x = pixel_grid((h, w), image.device)
    yn, xn = 2 * y / h - 1, 2 * x / w - 1
    t = view['theta'].to(F64)
    xs = t[0, 0] * xn + t[0, 1] * yn + t[0, 2]
    ys = t[1, 0] * xn + t[1, 1] * yn + t[1, 2]
    out = bilinear_reflect(image, (ys + 1) * h / 2, (xs + 1) * w / 2)
    if 'brightness' in view:
        mean, std = out.mean(), out.std()
        out = (out - mean) * float(view['contrast']) + mean + \
            float(view['brightness']) * std
    return out


def reference_partner_image(aug, inputs: torch.Tensor, draws, i: int,
                            second: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
    """The partner image of sample ``i``, ``(C, H, W)``: the partner's second
    view (two-view path); else the partner itself, or, when sample ``i``
    is paired with itself, its own second view (docs/design.md, "Pairing
    and the second view")."""
    t = int(draws.partner[i])
    if second is not None:
        return second[t].to(F64)
    if t != i:
        return inputs[t].to(F64)
    return second_view_image(inputs[i],
                             {k: v[i] for k, v in draws.view.items()})


def reference_apply(aug, inputs: torch.Tensor, batch_score: torch.Tensor,
                    draws, second_view: Optional[torch.Tensor] = None
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """MiAMix with the draws of ``aug.sample``, one sample at a time.

    Args:
        aug: a :class:`~mmmiamix.core.miamix.MiAMix`.
        inputs: float ``(B, C, H, W)``.
        batch_score: ``(B, K)`` one-hot or soft scores, int or float.
        draws: ``aug.sample(B, (H, W), inputs.device)``.
        second_view: the two-view path's second views, or None.
    Returns:
        ``(mixed, scores)`` like :meth:`MiAMix.apply`: mixed images (dtype of
        inputs) and float32 scores.
    """
    size = tuple(inputs.shape[-2:])
    score = batch_score.to(F64)
    mixed = torch.empty_like(inputs)
    scores = torch.empty(score.shape, dtype=torch.float32,
                         device=score.device)
    for i in range(inputs.shape[0]):
        cuts = [reference_cut_mask(aug, draws, i, j, size)
                for j in range(aug.k_max)]
        keep = reference_keep_mask(aug, cuts)
        unmixed = draws.unmixed is not None and bool(draws.unmixed[i])
        if unmixed:  # prob: kept whole, with its own label
            keep = torch.ones_like(keep)
        partner = reference_partner_image(aug, inputs, draws, i, second_view)
        t = int(draws.partner[i])
        mixed[i] = (keep * inputs[i].to(F64) + (1 - keep) * partner).to(
            inputs.dtype)
        lam = keep.mean() if aug.lam_merge == 'merged' or unmixed else \
            draws.ratios[i, -1].to(F64)
        scores[i] = (lam * score[i] + (1 - lam) * score[t]).float()
    return mixed, scores


def reference_loop(aug, inputs: torch.Tensor, batch_score: torch.Tensor,
                   second_view: Optional[torch.Tensor] = None,
                   generator: Optional[torch.Generator] = None):
    """The obvious implementation of Algorithm 1: every stage, the random
    draws included, one sample at a time (``for i = 1 to n``).

    Same distribution as ``aug(inputs, batch_score, second_view)``, not the
    same draws (use :func:`reference_apply` for those). This is the baseline
    that ``tools/benchmark_mixing.py`` times against the batched MiAMix.
    """
    b, size, dev = inputs.shape[0], tuple(inputs.shape[-2:]), inputs.device
    score = batch_score.to(F64)
    mixed = torch.empty_like(inputs)
    scores = torch.empty(score.shape, dtype=torch.float32, device=dev)
    for i in range(b):
        # Stage 1: a partner, or with p_self the sample itself.
        draw = torch.rand(2, device=dev, generator=generator)
        t = i if (b == 1 or float(draw[0]) < aug.p_self) else \
            (i + 1 + int(float(draw[1]) * (b - 1))) % b
        # Stages 2-3: k layers, Dirichlet ratios, a method per layer, the
        # warps and smoothings, and the masks of this sample's layers.
        one = aug.sample(1, size, dev, generator)
        cuts = [reference_cut_mask(aug, one, 0, j, size)
                for j in range(aug.k_max)]
        keep = reference_keep_mask(aug, cuts)
        # Stage 4: the partner image, the blend and the labels.
        if second_view is not None:
            partner = second_view[t].to(F64)
        elif t == i:
            partner = second_view_image(
                inputs[i], {k: v[0] for k, v in one.view.items()})
        else:
            partner = inputs[t].to(F64)
        mixed[i] = (keep * inputs[i].to(F64) + (1 - keep) * partner).to(
            inputs.dtype)
        lam = keep.mean() if aug.lam_merge == 'merged' else \
            one.ratios[0, -1].to(F64)
        scores[i] = (lam * score[i] + (1 - lam) * score[t]).float()
    return mixed, scores

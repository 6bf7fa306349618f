"""Plotting helpers for mixed batches and mask figures (matplotlib, Agg).

Shared by :class:`mmmiamix.engine.MixedBatchVisualizationHook` and
``tools/visualize_mixing.py``. Plain numpy / torch / matplotlib: nothing from
OpenMMLab. Images go in as ``(B, C, H, W)`` or ``(C, H, W)`` tensors or
arrays; masks as ``(H, W)`` or ``(1, H, W)``.
"""
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = [
    'to_numpy', 'to_display', 'top_labels', 'save_batch_grid',
    'plot_gmix_vs_agmix', 'plot_stages', 'plot_simple', 'save_figure'
]


def _plt():
    import matplotlib
    if matplotlib.get_backend().lower() != 'agg':
        try:
            matplotlib.use('Agg', force=True)
        except Exception:  # pragma: no cover - backend already in use
            pass
    import matplotlib.pyplot as plt
    return plt


def to_numpy(x) -> np.ndarray:
    """A tensor (any device, any dtype) or array-like as a float64 array."""
    if hasattr(x, 'detach'):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def to_display(images, mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None,
               bgr: bool = False) -> np.ndarray:
    """Images ``(B, C, H, W)`` (or ``(C, H, W)``) as displayable
    ``(B, H, W, 3)`` floats in [0, 1].

    With ``mean`` / ``std`` (per channel, pixel scale 0..255) the images are
    first de-normalised (``x * std + mean``) and divided by 255. Without them,
    images whose range exceeds [0, 1] are taken to be on the 0..255 scale.
    One channel is repeated to three; ``bgr=True`` reverses the channels.
    """
    x = to_numpy(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f'expected (B, C, H, W) images, got {x.shape}')
    c = x.shape[1]
    if std is not None:
        x = x * np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
    if mean is not None:
        x = x + np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
    if mean is not None or std is not None or x.max(initial=0) > 1.0 + 1e-6:
        x = x / 255.0
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    elif c != 3:
        x = x[:, :3]
    if bgr:
        x = x[:, ::-1]
    return np.clip(x.transpose(0, 2, 3, 1), 0.0, 1.0)


def _mask2d(mask) -> np.ndarray:
    m = to_numpy(mask)
    while m.ndim > 2:
        m = m[0]
    return m


def top_labels(score, k: int = 2, classes: Optional[Sequence[str]] = None,
               min_weight: float = 0.005) -> str:
    """The ``k`` largest label weights of one score vector, e.g.
    ``'3:0.62 7:0.38'`` (weights below ``min_weight`` are left out)."""
    s = to_numpy(score).reshape(-1)
    order = np.argsort(-s, kind='stable')[:k]
    parts = []
    for i in order:
        if s[i] < min_weight and parts:
            continue
        name = classes[i] if classes is not None and i < len(classes) \
            else str(i)
        parts.append(f'{name}:{s[i]:.2f}')
    return ' '.join(parts)


#: quantise saved PNGs to a 256-colour palette (3-4x smaller files); set
#: by ``tools/visualize_mixing.py --compact``
COMPACT = False


def save_figure(fig, path: str, dpi: int = 100,
                compact: Optional[bool] = None) -> str:
    """Save and close a matplotlib figure; create the folder. Returns path.
    ``compact`` (default :data:`COMPACT`): store a 256-colour palette PNG."""
    plt = _plt()
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    if COMPACT if compact is None else compact:
        from PIL import Image
        with Image.open(path) as im:
            small = im.convert('RGB').quantize(256)
        small.save(path, optimize=True)
    return path


def save_batch_grid(images, path: str, scores=None, max_images: int = 16,
                    mean=None, std=None, bgr: bool = False,
                    classes: Optional[Sequence[str]] = None,
                    title: Optional[str] = None, ncols: Optional[int] = None,
                    tile_inches: float = 1.6, dpi: int = 100) -> str:
    """Save up to ``max_images`` images of a batch as a PNG grid, each tile
    titled with its top-2 label weights from ``scores`` ``(B, K)``."""
    plt = _plt()
    imgs = to_display(images, mean, std, bgr)[:max(1, int(max_images))]
    sc = None if scores is None else to_numpy(scores)
    n = len(imgs)
    ncols = ncols or min(n, max(1, int(math.ceil(math.sqrt(n)))))
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, squeeze=False,
        figsize=(tile_inches * ncols, tile_inches * nrows + (0.4 if title
                                                             else 0)))
    for i, ax in enumerate(axes.flat):
        ax.axis('off')
        if i >= n:
            continue
        ax.imshow(imgs[i], interpolation='nearest')
        if sc is not None and i < len(sc):
            ax.set_title(top_labels(sc[i], 2, classes), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def _show(ax, image, title=None, cmap=None, fontsize=8):
    if cmap is None:
        ax.imshow(image, interpolation='nearest')
    else:
        ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0,
                  interpolation='nearest')
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize)


def plot_gmix_vs_agmix(gmix_out, gmix_mask, agmix_out, agmix_mask,
                       path: str, lam: float = 0.7, mean=None, std=None,
                       tile_inches: float = 1.9, dpi: int = 100) -> str:
    """The paper's Figure 1: per row, GMix's output and mask beside AGMix's
    output and mask, at partner share ``lam``.

    ``*_out``: mixed images ``(N, C, H, W)``; ``*_mask``: cut masks
    ``(N, 1, H, W)`` (weight of the partner image, shown white).
    """
    plt = _plt()
    go, ao = to_display(gmix_out, mean, std), to_display(agmix_out, mean, std)
    gm, am = to_numpy(gmix_mask), to_numpy(agmix_mask)
    n = len(go)
    fig, axes = plt.subplots(n, 4, squeeze=False,
                             figsize=(4 * tile_inches, n * tile_inches + 0.5))
    heads = ['GMix output', 'GMix mask', 'AGMix output', 'AGMix mask']
    for r in range(n):
        cells = [(go[r], None), (_mask2d(gm[r]), 'gray'), (ao[r], None),
                 (_mask2d(am[r]), 'gray')]
        for c, (img, cmap) in enumerate(cells):
            title = heads[c] if r == 0 else None
            if cmap is not None:
                mean_m = float(img.mean())
                title = (title + '\n' if title else '') + f'mean {mean_m:.2f}'
            _show(axes[r, c], img, title, cmap)
    fig.suptitle(f'GMix vs AGMix, partner share \u03bb = {lam:g}',
                 fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def _show_layers(row, k: int, names, raw, cut, lam, shape) -> None:
    """One sample's ``k_max`` layer tiles of :func:`plot_stages`: each
    sampled mask (``raw``) and the same after augmentation (``cut``) from
    column 2 on; layers beyond ``k`` greyed out."""
    k_max = len(raw)
    for j in range(k_max):
        if j < k:
            _show(row[2 + j], _mask2d(raw[j]),
                  f'{j + 1}: {names[j]}\n\u03bb{j + 1}={lam[j]:.2f}', 'gray')
            _show(row[2 + k_max + j], _mask2d(cut[j]),
                  f'{j + 1}: augmented\nmean {cut[j].mean():.2f}', 'gray')
        else:
            for c in (2 + j, 2 + k_max + j):
                _show(row[c], np.full(shape, 0.92), f'{j + 1}: (k={k})',
                      'gray')


def plot_stages(details: Dict, path: str, methods: Sequence[str],
                images=None, mean=None, std=None,
                classes: Optional[Sequence[str]] = None,
                max_samples: int = 4, tile_inches: float = 1.7,
                dpi: int = 100) -> str:
    """The paper's Figure 2 from ``MiAMix.explain(...)``: per sample (row)
    the base image, its partner, every sampled mask (method and ``λ_j``),
    the same masks after augmentation, the merged keep mask (with its mean,
    the label weight ``λ_merged`` of the base image) and the output.

    Args:
        details: the dict of ``MiAMix.explain`` (``draws``, ``raw_cut``,
            ``cut``, ``keep``, ``partner_images``, ``mixed``, ``scores``,
            ``weight``).
        methods: ``aug.methods`` (names of the method indices).
        images: the base images that went into ``explain``.
    """
    plt = _plt()
    draws = details['draws']
    k_max = int(details['raw_cut'].shape[1])
    base = to_display(images, mean, std)
    partner = to_display(details['partner_images'], mean, std)
    mixed = to_display(details['mixed'], mean, std)
    raw, cut = to_numpy(details['raw_cut']), to_numpy(details['cut'])
    keep = to_numpy(details['keep'])
    lam = to_numpy(draws.ratios)
    method = to_numpy(draws.method).astype(int)
    k = to_numpy(draws.k).astype(int)
    partner_idx = to_numpy(draws.partner).astype(int)
    lam_label = to_numpy(details['weight'])
    scores = to_numpy(details['scores'])
    n = min(len(base), int(max_samples))
    ncols = 2 + 2 * k_max + 2
    fig, axes = plt.subplots(
        n, ncols, squeeze=False,
        figsize=(ncols * tile_inches, n * (tile_inches + 0.35) + 0.6))
    for r in range(n):
        row = axes[r]
        selfmix = partner_idx[r] == r
        _show(row[0], base[r], f'base #{r}')
        _show(row[1], partner[r],
              f'partner #{partner_idx[r]}' + (' (self)' if selfmix else ''))
        _show_layers(row, int(k[r]), [methods[m] for m in method[r]],
                     raw[r], cut[r], lam[r], base[r].shape[:2])
        _show(row[2 + 2 * k_max], _mask2d(keep[r]),
              f'keep (base)\n\u03bb_merged={lam_label[r]:.2f}', 'gray')
        _show(row[3 + 2 * k_max], mixed[r],
              'output\n' + top_labels(scores[r], 2, classes))
    fig.suptitle('MiAMix stages: pair \u2192 sampled cut masks (white = '
                 'partner) \u2192 augmented masks \u2192 merged keep mask '
                 '(white = base) \u2192 output', fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def plot_simple(images, partners, masks, outputs, path: str,
                lam: Optional[Sequence[float]] = None, method: str = '',
                scores=None, mean=None, std=None,
                classes: Optional[Sequence[str]] = None,
                tile_inches: float = 1.8, dpi: int = 100) -> str:
    """Per sample (row): base, partner, cut mask (weight of the partner,
    white) and output, titled with the partner share ``λ``."""
    plt = _plt()
    base = to_display(images, mean, std)
    part = to_display(partners, mean, std)
    out = to_display(outputs, mean, std)
    m = to_numpy(masks)
    n = len(base)
    fig, axes = plt.subplots(n, 4, squeeze=False,
                             figsize=(4 * tile_inches,
                                      n * (tile_inches + 0.3) + 0.5))
    sc = None if scores is None else to_numpy(scores)
    for r in range(n):
        mask = _mask2d(m[r])
        lam_txt = '' if lam is None else f'\u03bb={float(lam[r]):.2f}, '
        _show(axes[r, 0], base[r], 'base')
        _show(axes[r, 1], part[r], 'partner')
        _show(axes[r, 2], mask, f'mask ({lam_txt}mean {mask.mean():.2f})',
              'gray')
        title = 'output'
        if sc is not None:
            title += '\n' + top_labels(sc[r], 2, classes)
        _show(axes[r, 3], out[r], title)
    if method:
        fig.suptitle(method, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def list_images(folder: str) -> List[str]:
    """Image files of a folder (sorted, non-recursive)."""
    exts = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff',
            '.webp', '.ppm', '.pgm')
    return sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if f.lower().endswith(exts) and osp.isfile(osp.join(folder, f)))

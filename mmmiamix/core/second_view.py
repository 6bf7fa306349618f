"""The second view of the one-view path (docs/design.md, "Pairing and the
second view"): a random geometric re-augmentation of an image on its device,
for self-mixing.

Flip, crop-and-resize (zoom in by a scale) and a shift, all one affine
resample with reflection padding, so a constant image maps to itself.
Brightness and contrast jitter are opt-in (0 by default).
"""
from typing import Dict, Optional, Tuple

import torch

from .blend import gather_partners, needs_grad
from .checks import check_prob, check_range
from .constants import arange, constant
from .geometry import warp
from .sampling import Generator

#: The one-view path renders second views in this many batch chunks, which
#: bounds their temporaries (sampling grid and view) to half a batch.
VIEW_CHUNKS = 2


class ViewConfig:
    """Settings of the second view.

    Args:
        flip (float): probability of a horizontal flip. Default 0.5.
        scale (tuple): range of the crop side as a share of the image side
            (crop-and-resize zooms in by ``1 / scale``). Default (0.6, 1.0).
        shift (float): largest shift as a share of the image side, each
            axis. Default 0.125.
        brightness (float): largest additive brightness change, in units of
            the image's standard deviation per sample. Default 0 (off).
        contrast (float): largest relative contrast change. Default 0 (off).
    """

    def __init__(self, flip: float = 0.5,
                 scale: Tuple[float, float] = (0.6, 1.0), shift: float = 0.125,
                 brightness: float = 0.0, contrast: float = 0.0):
        self.flip = check_prob('view_cfg.flip', flip)
        self.scale = check_range('view_cfg.scale', scale, 0.05, 1.0)
        self.shift = check_prob('view_cfg.shift', shift)
        self.brightness = check_prob('view_cfg.brightness', brightness)
        self.contrast = check_prob('view_cfg.contrast', contrast)

    #: uniforms :meth:`params` takes per sample
    n_uniform = 6

    def params(self, u: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Per-sample draws from uniforms ``u`` (float ``(n, 6)`` in [0,
        1)): ``theta`` (float ``(n, 2, 3)``, ``grid_sample``'s normalised
        affine: a flip, a zoom by ``1 / scale`` and a shift), and, when
        enabled, ``brightness`` and ``contrast`` (float ``(n,)``)."""
        lo, hi = self.scale
        # zoom in [lo, hi), normalised shifts 2 * U(-shift, shift)
        scale, shift_x, shift_y = torch.addcmul(
            constant((lo, -2 * self.shift, -2 * self.shift), u.device),
            u[:, 1:4], constant((hi - lo, 4 * self.shift, 4 * self.shift),
                                u.device)).unbind(1)
        sign = (u[:, 0] < self.flip).float().mul_(-2).add_(1)
        zero = torch.zeros_like(scale)
        theta = torch.stack([sign * scale, zero, shift_x, zero, scale,
                             shift_y], 1).view(-1, 2, 3)
        params = {'theta': theta}
        if self.brightness > 0 or self.contrast > 0:
            jitter = u[:, 4:6] * 2 - 1
            params['brightness'] = jitter[:, 0] * self.brightness
            params['contrast'] = jitter[:, 1] * self.contrast + 1
        return params

    def sample(self, n: int, device,
               generator: Generator = None) -> Dict[str, torch.Tensor]:
        """Draw :meth:`params` for ``n`` samples."""
        return self.params(torch.rand(n, self.n_uniform, device=device,
                                      generator=generator))

    def render(self, images: torch.Tensor, params: Dict[str, torch.Tensor],
               lean: bool = False) -> torch.Tensor:
        """The second views of ``images`` (float ``(N, C, H, W)``), same
        shape and dtype; ``lean``: see :func:`~.geometry.warp` (faster on
        the CPU, a few more ops)."""
        view = warp(images, None, theta=params['theta'], lean=lean)
        if 'brightness' in params:
            mean = view.mean(dim=(1, 2, 3), keepdim=True)
            std = view.std(dim=(1, 2, 3), keepdim=True)
            b = params['brightness'].view(-1, 1, 1, 1).to(view.dtype)
            c = params['contrast'].view(-1, 1, 1, 1).to(view.dtype)
            view = (view - mean) * c + mean + b * std
        return view


def partner_images(inputs: torch.Tensor, draws, view: ViewConfig,
                   p_self: float, *,
                   second_view: Optional[torch.Tensor] = None,
                   compact: bool = False) -> torch.Tensor:
    """Each sample's partner image, a new ``(B, C, H, W)`` tensor.

    Two-view path: taken from ``second_view``. One-view path: taken from
    ``inputs``, self-paired samples re-augmented by ``view`` with the draws'
    ``view`` (``draws``: a :class:`~.draws.MiAMixDraws`; with ``p_self =
    0`` and another sample nobody pairs with itself). ``compact``:
    render only the self-paired samples (``nonzero``, a host sync on CUDA)
    rather than every sample in :data:`VIEW_CHUNKS` chunks, selected.
    """
    partner = draws.partner
    if second_view is not None:
        return gather_partners(second_view, partner)
    images = gather_partners(inputs, partner)
    if p_self == 0 and inputs.shape[0] > 1:
        return images
    is_self = partner == arange(inputs.shape[0], partner.device)
    if compact:
        index = is_self.nonzero().squeeze(1)
        if not index.numel():
            return images
        seconds = view.render(inputs.index_select(0, index), {
            k: v.index_select(0, index) for k, v in draws.view.items()},
            lean=True)
        return images.index_copy(0, index, seconds) if needs_grad(images) \
            else images.index_copy_(0, index, seconds)
    return _select_views(inputs, images, draws.view, view, is_self)


def _select_views(inputs, images, params, view, is_self):
    """``images`` with the self-paired samples' second views, rendered for
    every sample a chunk at a time and selected."""
    parts = []
    keys = list(params)
    views = zip(*(v.chunk(VIEW_CHUNKS) for v in params.values()))
    for image, part, draw, hit in zip(
            inputs.chunk(VIEW_CHUNKS), images.chunk(VIEW_CHUNKS), views,
            is_self.view(-1, 1, 1, 1).chunk(VIEW_CHUNKS)):
        seconds = view.render(image, dict(zip(keys, draw)))
        if needs_grad(images, seconds):
            parts.append(torch.where(hit, seconds, part))
        else:
            torch.where(hit, seconds, part, out=part)
            parts.append(None)
        del seconds
    if parts and parts[0] is not None:
        return torch.cat(parts)
    return images

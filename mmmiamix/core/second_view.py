"""The second view of the one-view path (docs/design.md, "Pairing and the
second view"): a random geometric re-augmentation of an image on its device,
for self-mixing.

Flip, crop-and-resize (zoom in by a scale) and a shift, all one affine
resample with reflection padding, so a constant image maps to itself.
Brightness and contrast jitter are opt-in (0 by default).
"""
from typing import Dict, Optional, Tuple

import torch

from . import host
from .blend import gather_partners, needs_grad
from .checks import check_prob, check_range
from .constants import constant
from .geometry import warp
from .sampling import Generator


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
        zero = torch.zeros_like(scale)
        flipped = torch.where(u[:, 0] < self.flip, -scale, scale)
        theta = torch.stack([flipped, zero, shift_x, zero, scale, shift_y],
                            1).view(-1, 2, 3)
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


def partner_images(inputs: torch.Tensor, draws, view: ViewConfig, *,
                   second_view: Optional[torch.Tensor] = None,
                   out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Each sample's partner image, a new ``(B, C, H, W)`` tensor.

    Two-view path: taken from ``second_view``. One-view path: taken from
    ``inputs``, the self-paired samples re-augmented by ``view`` with the
    draws' ``view``; only the ``self_cap`` rows of ``draws.self_index``
    render a second view (``draws``: a :class:`~.draws.MiAMixDraws`), those
    not self-paired putting their partner back. ``out``: an empty batch
    like the one gathered from, to write into.
    """
    partner = draws.partner
    if second_view is not None:
        return gather_partners(second_view, partner, out)
    images = gather_partners(inputs, partner, out)
    index = draws.self_index
    if not index.numel():
        return images
    seconds = view.render(inputs.index_select(0, index), {
        k: v.index_select(0, index) for k, v in draws.view.items()},
        lean=host.arithmetic_bound(inputs.device))
    seconds = torch.where(draws.self_valid.view(-1, 1, 1, 1), seconds,
                          images.index_select(0, index))
    if needs_grad(images, seconds):
        return images.index_copy(0, index, seconds)
    return images.index_copy_(0, index, seconds)

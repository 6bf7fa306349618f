"""The second view of the one-view path (DESIGN §4): a random geometric
re-augmentation of an image on its device, for self-mixing.

Flip, crop-and-resize (zoom in by a scale) and a shift, all one affine
resample with reflection padding, so a constant image maps to itself.
Brightness and contrast jitter are opt-in (0 by default).
"""
from typing import Dict, Tuple

import torch

from .checks import check_prob, check_range
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
        1)): ``affine (n, 2, 2)``, ``translate (n, 2)`` in share of the side,
        ``brightness (n,)``, ``contrast (n,)``."""
        lo, hi = self.scale
        scale = u[:, 1] * (hi - lo) + lo
        # diag(sign * scale, scale), sign -1 for a flip
        flip = (u[:, 0] < self.flip).float()
        affine = torch.stack([scale - 2 * flip * scale, scale * 0, scale * 0,
                              scale], -1).view(-1, 2, 2)
        jitter = u[:, 2:6] * 2 - 1  # U(-1, 1): shift x, y, brightness,
        shift, bright, contrast = jitter.split([2, 1, 1], 1)  # contrast
        return {'affine': affine, 'translate': shift * self.shift,
                'brightness': bright.view(-1) * self.brightness,
                'contrast': contrast.view(-1) * self.contrast + 1}

    def sample(self, n: int, device,
               generator: Generator = None) -> Dict[str, torch.Tensor]:
        """Draw :meth:`params` for ``n`` samples."""
        return self.params(torch.rand(n, self.n_uniform, device=device,
                                      generator=generator))

    def render(self, images: torch.Tensor,
               params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The second views of ``images`` (float ``(N, C, H, W)``), same
        shape and dtype."""
        h, w = images.shape[-2:]
        t = params['translate']
        shift = torch.stack([t[:, 0] * w, t[:, 1] * h], 1)
        view = warp(images, params['affine'], shift)
        if self.brightness > 0 or self.contrast > 0:
            mean = view.mean(dim=(1, 2, 3), keepdim=True)
            std = view.std(dim=(1, 2, 3), keepdim=True)
            b = params['brightness'].view(-1, 1, 1, 1).to(view.dtype)
            c = params['contrast'].view(-1, 1, 1, 1).to(view.dtype)
            view = (view - mean) * c + mean + b * std
        return view

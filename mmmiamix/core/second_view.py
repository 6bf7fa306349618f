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
from .sampling import Generator, uniform


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
        self.flip = check_prob('second_view.flip', flip)
        self.scale = check_range('second_view.scale', scale, 0.05, 1.0)
        self.shift = check_prob('second_view.shift', shift)
        self.brightness = check_prob('second_view.brightness', brightness)
        self.contrast = check_prob('second_view.contrast', contrast)

    def sample(self, n: int, device,
               generator: Generator = None) -> Dict[str, torch.Tensor]:
        """Per-sample draws: ``affine (n, 2, 2)``, ``translate (n, 2)`` in
        share of the side, ``brightness (n,)``, ``contrast (n,)``."""
        flip = torch.rand(n, device=device, generator=generator) < self.flip
        scale = uniform(n, *self.scale, device, generator)
        sign = 1 - 2 * flip.float()
        zeros = torch.zeros_like(scale)
        affine = torch.stack([sign * scale, zeros, zeros, scale],
                             -1).view(n, 2, 2)
        translate = uniform(2 * n, -self.shift, self.shift, device,
                            generator).view(n, 2)
        brightness = uniform(n, -self.brightness, self.brightness, device,
                             generator)
        contrast = 1 + uniform(n, -self.contrast, self.contrast, device,
                               generator)
        return {'affine': affine, 'translate': translate,
                'brightness': brightness, 'contrast': contrast}

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

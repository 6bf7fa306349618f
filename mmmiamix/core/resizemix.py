"""ResizeMix (Qin et al., 2020), per sample: each sample's partner image,
resized whole, is pasted into a box of its own.

Sample ``i`` draws a scale ``tau_i ~ U(scope)`` (or, with ``use_alpha``,
``Beta(alpha, alpha)`` mapped onto ``scope``), a box of ``round(tau H) x
round(tau W)`` pixels centred on a uniformly drawn pixel and clipped at the
borders, and a partner ``perm[i]`` (a random permutation). The partner image
is resized into the clipped box, as OpenMixup and mmpretrain do (so a box
cut by a border squeezes the image, which stays whole), and replaces the
base pixels there. The label weight of the base image is the share of its
pixels left uncovered, counted exactly, so label weight = pixel weight.

The whole batch is resampled by one ``grid_sample`` (a per-sample scale and
shift) and selected by a box mask: no loop over samples, no value read back
to the host, every random number from torch's generator of the device.
"""
import numbers
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .blend import gather_partners, mix_scores, needs_grad
from .checks import check_alpha, check_choice
from .constants import device_constant
from .front import MixAugment
from .geometry import pixel_axes
from .methods import Params
from .sampling import Generator, sample_beta

#: ``grid_sample``'s modes, the resampling of the pasted partner.
INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic')

_pixel_axes = device_constant(pixel_axes)


def check_scope(name: str, value) -> Tuple[float, float]:
    """``scope``: ``(min, max)`` box sides as shares of the image side, ``0
    < min <= max <= 1``."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            for v in value)):
        raise TypeError(f'{name} must be a (min, max) pair of numbers in (0, '
                        f'1], got {value!r}')
    lo, hi = (float(v) for v in value)
    if not 0 < lo <= 1 or not 0 < hi <= 1:
        raise ValueError(f'{name} must lie within (0, 1], got {value!r}')
    if lo > hi:
        raise ValueError(f'{name} must have min <= max, got {value!r}')
    return lo, hi


def paste_boxes(tau: torch.Tensor, centre: torch.Tensor, size
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The boxes of scales ``tau`` (float ``(B,)`` in (0, 1]) centred on the
    pixels ``centre`` (float ``(B, 2)``, integer ``(y, x)`` in the image):
    float32 ``side`` (``(B, 2)``, ``(h, w)`` before clipping, >= 1),
    ``corner`` (``(B, 2)``, ``(top, left)`` after clipping) and ``extent``
    (``(B, 2)``, ``(h, w)`` after clipping, >= 1: the centre pixel is always
    inside), all whole pixels."""
    limit = _sizes(size, tau.device)
    side = (tau.float().unsqueeze(-1) * limit).round_().clamp_min_(1)
    start = centre - torch.div(side, 2, rounding_mode='floor')
    corner = start.clamp(min=0)
    extent = torch.minimum(start + side, limit) - corner
    return side, corner, extent


@device_constant
def _sizes(size, device) -> torch.Tensor:
    """``(H, W)`` as float32 ``(2,)`` on ``device``, made once."""
    return torch.tensor(tuple(size), dtype=torch.float32, device=device)


def box_masks(corner: torch.Tensor, extent: torch.Tensor, size
              ) -> torch.Tensor:
    """Bool ``(B, 1, H, W)``: the pixels inside each box (``corner``,
    ``extent``: float ``(B, 2)``, whole pixels, ``(y, x)``)."""
    ys, xs = _pixel_axes(tuple(size), corner.device)
    top, left = corner.view(-1, 2, 1, 1).unbind(1)
    h, w = extent.view(-1, 2, 1, 1).unbind(1)
    rows = (ys >= top.unsqueeze(1)) & (ys < (top + h).unsqueeze(1))
    cols = (xs >= left.unsqueeze(1)) & (xs < (left + w).unsqueeze(1))
    return rows & cols


def paste_grid(corner: torch.Tensor, extent: torch.Tensor, size
               ) -> torch.Tensor:
    """``grid_sample``'s grid (float32 ``(B, H, W, 2)``, ``align_corners=
    False``) that maps each box onto the whole source image: a pixel at
    ``p`` inside the box samples the source at ``(p - corner) / extent``
    of its size (outside the box the grid runs on; those pixels are not
    used)."""
    ys, xs = _pixel_axes(tuple(size), corner.device)
    top, left = corner.view(-1, 2, 1, 1).unbind(1)
    h, w = extent.view(-1, 2, 1, 1).unbind(1)
    v = (ys.view(1, -1, 1) - top).div_(h).mul_(2).sub_(1)  # (B, H, 1)
    u = (xs.view(1, 1, -1) - left).div_(w).mul_(2).sub_(1)  # (B, 1, W)
    return torch.stack(torch.broadcast_tensors(u, v), -1)


class ResizeMix(MixAugment):
    """ResizeMix per sample: the partner image resized into a box of side
    ``tau`` of the image's, at a random place (module docstring).

    Call as ``mixed, scores = aug(inputs, targets)``: ``inputs`` float ``(B,
    C, H, W)``, ``targets`` ``(B, K)`` scores or, with ``num_classes``,
    class indices ``(B,)``; returns the mixed inputs (dtype and device of
    ``inputs``) and float32 scores ``(B, K)``.

    Args:
        alpha (float): with ``use_alpha``, ``tau = lo + (hi - lo) * Beta(
            alpha, alpha)``. Default 1.0.
        scope (tuple): ``(lo, hi)``, the range of ``tau``, ``0 < lo <= hi
            <= 1``. Default (0.1, 0.8) (OpenMixup's, the paper's).
        use_alpha (bool): draw ``tau`` from the Beta law above instead of
            ``U(scope)``. Default False (the paper's uniform law).
        interpolation (str): resampling of the pasted image, one of
            ``'nearest'`` (OpenMixup's default), ``'bilinear'``,
            ``'bicubic'``. Default ``'nearest'``.
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`~.front.MixAugment`).
    """

    def __init__(self, alpha: float = 1.0,
                 scope: Tuple[float, float] = (0.1, 0.8),
                 use_alpha: bool = False, interpolation: str = 'nearest',
                 num_classes=None, label_smoothing: float = 0.0,
                 prob: float = 1.0, check_values: bool = False):
        super().__init__(num_classes, label_smoothing, prob, check_values)
        self.alpha = check_alpha('alpha', alpha)
        self.scope = check_scope('scope', scope)
        if not isinstance(use_alpha, bool):
            raise TypeError(f'use_alpha must be a bool, got {use_alpha!r}')
        self.use_alpha = use_alpha
        self.interpolation = check_choice('interpolation', interpolation,
                                          INTERPOLATIONS)

    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> Params:
        """All draws of one call: ``perm`` (long ``(B,)``), ``tau`` (float32
        ``(B,)`` in ``scope``) and the boxes of :func:`paste_boxes`
        (``side``, ``corner``, ``extent``)."""
        size = tuple(size)
        perm = torch.randperm(batch_size, device=device, generator=generator)
        u = torch.rand(batch_size, 3, device=device, generator=generator)
        share = sample_beta(batch_size, self.alpha, device, generator) \
            if self.use_alpha else u[:, 0]
        lo, hi = self.scope
        tau = share * (hi - lo) + lo
        centre = torch.minimum((u[:, 1:] * _sizes(size, device)).floor_(),
                               _sizes(size, device) - 1)
        side, corner, extent = paste_boxes(tau, centre, size)
        return {'perm': perm, 'tau': tau, 'side': side, 'corner': corner,
                'extent': extent}

    def paste(self, inputs: torch.Tensor, params: Params
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Apply the draws ``params`` (see :meth:`sample`) to ``inputs``
        (float ``(B, C, H, W)``): ``(mixed, inside, weight)``, the mixed
        images (dtype of ``inputs``), the boxes as bool ``(B, 1, H, W)`` and
        the base weight, float32 ``(B,)``, the share of pixels uncovered."""
        size = tuple(inputs.shape[-2:])
        corner, extent = params['corner'], params['extent']
        grid = paste_grid(corner, extent, size).to(inputs.dtype)
        partners = gather_partners(inputs, params['perm'])
        resized = F.grid_sample(partners, grid, mode=self.interpolation,
                                padding_mode='border', align_corners=False)
        del partners
        inside = box_masks(corner, extent, size)
        mixed = torch.empty_like(inputs)  # the memory format of inputs
        if needs_grad(inputs):
            mixed.copy_(torch.where(inside, resized, inputs))
        else:
            torch.where(inside, resized, inputs, out=mixed)
        pixels = size[0] * size[1]
        covered = extent[:, 0] * extent[:, 1]
        return mixed, inside, (pixels - covered) / pixels

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor, *,
            generator: Generator = None, record: Optional[dict] = None):
        """Draw, paste and mix the labels; ``record`` (a dict): filled with
        ``keep`` (float32 ``(B, 1, H, W)``, 0 inside the box, 1 outside),
        ``partner`` and ``weight`` (see :class:`~.front.MixRecord`)."""
        params = self.sample(inputs.shape[0], inputs.shape[-2:],
                             inputs.device, generator)
        mixed, inside, weight = self.paste(inputs, params)
        perm = params['perm']
        if record is not None:
            record.update(keep=(~inside).float(), partner=perm,
                          weight=weight)
        return mixed, mix_scores(scores, perm, weight)

    def __repr__(self):
        return (f'{type(self).__name__}(alpha={self.alpha}, scope='
                f'{self.scope}, use_alpha={self.use_alpha}, interpolation='
                f'{self.interpolation!r})')

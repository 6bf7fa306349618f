"""Mixing a batch with a keep mask, and the single-method augments.

``x_mixed = keep * x + (1 - keep) * x_partner`` and ``y_mixed = lam * y +
(1 - lam) * y_partner`` with ``lam = keep.mean()`` per sample, so the label
weights equal the pixel weights (DESIGN §1).
"""
from typing import Callable, List, Optional, Tuple

import torch

from .checks import check_batch, check_positive, check_range
from .masks import MASK_METHODS, Params
from .saliency import salient_points
from .sampling import Generator, sample_beta


def take(params: Params, index: Optional[torch.Tensor]) -> Params:
    """The rows ``index`` of every per-sample tensor (all when None)."""
    if index is None:
        return params
    return {k: v.index_select(0, index) for k, v in params.items()}


def apply_by_group(out: torch.Tensor, group: torch.Tensor,
                   fns: List[Optional[Callable]], compact: bool,
                   max_rows: Optional[int] = None) -> torch.Tensor:
    """``out[i] = fns[group[i]](i)`` for every row whose group has a function.

    Args:
        out: ``(N, ...)`` rows kept where ``group`` matches no function;
            written in place (pass a tensor you own).
        group: long ``(N,)``.
        fns: ``fns[g](index)`` returns the rows ``index`` (a long tensor, or
            None for all rows) of group ``g``'s result.
        compact: gather each group's rows and compute only those (needs
            ``nonzero``: a host sync on CUDA); otherwise compute every group
            on all rows and select with ``torch.where`` (no sync).
        max_rows: compute at most this many rows at a time, to bound the
            functions' temporaries; the chunks depend on shapes only.
    """
    n = out.shape[0]
    step = n if max_rows is None else max(1, min(n, max_rows))
    for g, fn in enumerate(fns):
        if fn is None:
            continue
        hit = group == g
        if compact:
            index = hit.nonzero().squeeze(1)
            # Sizes are known on the host once nonzero has run.
            for start in range(0, index.numel(), step):
                part = index[start:start + step]
                out.index_copy_(0, part, fn(part).to(out.dtype))
            continue
        hit = hit.view(-1, *([1] * (out.dim() - 1)))
        for start in range(0, n, step):
            stop = min(n, start + step)
            rows = None if stop - start == n else torch.arange(
                start, stop, device=out.device)
            part = out[start:stop]
            torch.where(hit[start:stop], fn(rows).to(out.dtype), part,
                        out=part)
    return out


def blend(inputs: torch.Tensor, partners: torch.Tensor, keep: torch.Tensor,
          batch_score: torch.Tensor, partner_index: torch.Tensor
          ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix images and labels with the keep mask.

    Args:
        inputs: float ``(B, C, H, W)``, the base images.
        partners: ``(B, C, H, W)`` of the dtype of inputs, a fresh tensor
            holding each sample's partner image; overwritten with the output.
        keep: float32 ``(B, 1, H, W)`` in [0, 1], weight of the base image.
        batch_score: ``(B, K)`` one-hot or soft scores, int or float.
        partner_index: long ``(B,)``.
    Returns:
        ``(mixed, scores, lam)``: mixed images (dtype of inputs), float32
        scores ``(B, K)`` and the label weight of the base image, float32
        ``(B,)``, equal to the mean pixel weight actually applied.
    """
    weight = keep.to(inputs.dtype)
    lam = weight.float().mean(dim=(1, 2, 3))
    mixed = partners.lerp_(inputs, weight)  # partner + keep * (x - partner)
    return mixed, mix_scores(batch_score, partner_index, lam), lam


def mix_scores(batch_score: torch.Tensor, partner_index: torch.Tensor,
               lam: torch.Tensor) -> torch.Tensor:
    """``lam * y + (1 - lam) * y[partner_index]``: float32 ``(B, K)`` from
    scores ``(B, K)`` (int or float) and base weights ``lam`` ``(B,)``."""
    score = batch_score.float()
    return torch.lerp(score.index_select(0, partner_index), score,
                      lam.view(-1, 1))


def gather_partners(images: torch.Tensor,
                    index: torch.Tensor) -> torch.Tensor:
    """``images[index]`` as a new tensor in the memory format of ``images``."""
    out = torch.empty_like(images)
    return torch.index_select(images, 0, index, out=out)


class MaskMix:
    """Per-sample mixing with one mask method (FMix, GridMix, GMix, AGMix).

    Each sample ``i`` draws ``lam_i ~ Beta(alpha, alpha)`` and is mixed with
    ``x[perm[i]]`` (a random permutation) under the method's cut mask; its
    label weight is the real mean of the keep mask. With ``B = 1`` the sample
    mixes with itself and comes back unchanged.

    Call as ``mixed, scores = aug(inputs, batch_score)``: ``inputs`` float
    ``(B, C, H, W)``, ``batch_score`` ``(B, num_classes)`` one-hot or soft;
    returns the mixed inputs (same dtype and device) and float32 scores.
    """

    method: str = ''

    def __init__(self, alpha: float = 1.0, **method_kwargs):
        self.alpha = check_positive('alpha', alpha)
        self.method_kwargs = method_kwargs

    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> Params:
        """All draws of one call: ``lam``, ``perm`` and the mask's
        parameters."""
        lam = sample_beta(batch_size, self.alpha, device, generator)
        perm = torch.randperm(batch_size, device=device, generator=generator)
        params = MASK_METHODS[self.method].sample(lam, tuple(size), generator,
                                                  **self.method_kwargs)
        params['perm'] = perm
        return params

    def place(self, params: Params, inputs: torch.Tensor) -> Params:
        """Adjust the draws to the images (SaliencyMix); as drawn here."""
        return params

    def __call__(self, inputs: torch.Tensor, batch_score: torch.Tensor,
                 generator: Generator = None):
        check_batch(inputs, batch_score)
        size = tuple(inputs.shape[-2:])
        params = self.sample(inputs.shape[0], size, inputs.device, generator)
        params = self.place(params, inputs)
        cut = MASK_METHODS[self.method].render(params, size)
        perm = params['perm']
        mixed, score, _ = blend(inputs, gather_partners(inputs, perm), 1 - cut,
                                batch_score, perm)
        return mixed, score

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in self.method_kwargs.items())
        return f'{type(self).__name__}(alpha={self.alpha}' + (
            f', {args})' if args else ')')


class FMix(MaskMix):
    """FMix (Harris et al., 2020): masks from thresholded low-frequency noise.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        decay_power (float): the spectrum's amplitude decays as
            ``1 / f**decay_power``. Default 3.0.
        max_soft (float): largest soft-edge width as a share of the pixels,
            in [0, 0.5]. Default 0.0 (binary masks).
    """
    method = 'fmix'

    def __init__(self, alpha: float = 1.0, decay_power: float = 3.0,
                 max_soft: float = 0.0):
        check_positive('decay_power', decay_power)
        check_range('max_soft', (0.0, max_soft), 0.0, 0.5)
        super().__init__(alpha, decay_power=float(decay_power),
                         max_soft=float(max_soft))


class GridMix(MaskMix):
    """GridMix (Baek et al., 2021): a grid of holes, with OpenMixup's ranges.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        n_holes (tuple[int]): range of holes per side, inclusive. Default
            (2, 6).
        hole_aspect_ratio (float): width / height of a hole. Default 1.0.
        cut_area_ratio (tuple): range of the gridded region's area share.
            Default (0.5, 1.0).
        cut_aspect_ratio (tuple): range of the region's width / height.
            Default (0.5, 2.0).
    """
    method = 'gridmix'

    def __init__(self, alpha: float = 1.0, n_holes=(2, 6),
                 hole_aspect_ratio: float = 1.0, cut_area_ratio=(0.5, 1.0),
                 cut_aspect_ratio=(0.5, 2.0)):
        super().__init__(
            alpha,
            n_holes=check_range('n_holes', n_holes, 1, None, integer=True),
            hole_aspect_ratio=check_positive('hole_aspect_ratio',
                                             hole_aspect_ratio),
            cut_area_ratio=check_range('cut_area_ratio', cut_area_ratio, 0.0,
                                       1.0),
            cut_aspect_ratio=check_range('cut_aspect_ratio',
                                         cut_aspect_ratio, 1e-3, None))
        if self.method_kwargs['cut_area_ratio'][0] <= 0:
            raise ValueError('cut_area_ratio must be > 0, got '
                             f'{cut_area_ratio!r}')


class GMix(MaskMix):
    """GMix (Park et al., 2022): an isotropic Gaussian mask whose integral
    is ``lam * H * W``.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
    """
    method = 'gmix'

    def __init__(self, alpha: float = 1.0):
        super().__init__(alpha)


class AGMix(MaskMix):
    """AGMix (Liang et al., 2023, §3.1): GMix with a random covariance
    ``[[1, q], [q, 1]]`` and a random rotation.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        q_range (tuple): range of the off-diagonal ``q``, within [-1, 1].
            Default (-1.0, 1.0).
        angle_range (tuple): range of the rotation in degrees. Default
            (-180.0, 180.0).
    """
    method = 'agmix'

    def __init__(self, alpha: float = 1.0, q_range=(-1.0, 1.0),
                 angle_range=(-180.0, 180.0)):
        super().__init__(
            alpha, q_range=check_range('q_range', q_range, -1.0, 1.0),
            angle_range=check_range('angle_range', angle_range))


class SaliencyMix(MaskMix):
    """SaliencyMix (Uddin et al., ICLR 2021): a CutMix box of ``lam`` of the
    pixels centred on the most salient point of the partner (source) image
    (spectral-residual saliency, :mod:`.saliency`), pasted at the same place
    in the base image ("salient to corresponding"); the box is clipped at
    the borders and the label takes its real area.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
    """
    method = 'cutmix'

    def __init__(self, alpha: float = 1.0):
        super().__init__(alpha)

    def place(self, params: Params, inputs: torch.Tensor) -> Params:
        centre = salient_points(inputs).index_select(0, params['perm'])
        params['top'] = torch.round(centre[:, 0] - params['h'] / 2)
        params['left'] = torch.round(centre[:, 1] - params['w'] / 2)
        return params


#: The classes that check each method's keyword arguments.
METHOD_CLASSES = {'fmix': FMix, 'gridmix': GridMix, 'gmix': GMix,
                  'agmix': AGMix}


def check_method_kwargs(method: str, kwargs: dict) -> dict:
    """Validated keyword arguments of ``method``'s mask sampler."""
    if method not in METHOD_CLASSES:
        if kwargs:
            raise ValueError(f'method_kwargs[{method!r}]: {method} takes no '
                             f'arguments, got {kwargs!r}')
        return {}
    return METHOD_CLASSES[method](**kwargs).method_kwargs

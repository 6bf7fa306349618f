"""A plain per-sample reference implementation of MiAMix (Algorithm 1).

This is the *readable* version of :meth:`MiAMix.apply`: one Python loop over
the samples and one over each sample's mask layers, with no batching tricks,
no ``torch.where`` selection and no grouping by method. It consumes exactly
the draws of :meth:`MiAMix.sample`, so for ``params = aug.sample(...)``

    reference_apply(aug, x, y, params) == aug.apply(x, y, params)

to float rounding. It exists to check the batched implementation and as the
"obvious implementation" that ``tools/benchmark_mixing.py`` times; it is
slow by design and is not used in training.

Pure PyTorch: imports nothing from OpenMMLab.
"""
from typing import Dict, Optional, Tuple

import torch

from .mask_augment import box_filter
from .masks import MASK_METHODS

Params = Dict[str, object]


def _row(params: Dict[str, torch.Tensor], i: int) -> Dict[str, torch.Tensor]:
    """Row ``i`` of every per-sample tensor, keeping a batch axis of 1."""
    return {name: value[i:i + 1] for name, value in params.items()}


def reference_cut_mask(aug, params: Params, slot: int, size: Tuple[int, int],
                       device, augment: bool = True) -> torch.Tensor:
    """The cut mask of one slot (``slot = i * k_max + j``: layer ``j`` of
    sample ``i``), float32 ``(H, W)``.

    Paper §3.2.3: the method's mask; for cutmix, fmix and gridmix masks a
    rotation and shear by ``params['affine'][slot]`` where
    ``params['rotate'][slot]`` is set, and a smoothing by a box filter of window
    ``aug.windows(size)[params['window'][slot]]`` (none when -1).
    """
    m = int(params['method'].reshape(-1)[slot])
    if m < 0:  # inactive layer (beyond this sample's k): an empty cut mask
        return torch.zeros(size, device=device)
    name = aug.methods[m]
    spec = MASK_METHODS[name]
    mask_params = _row(params['mask_params'][name], slot)
    affine = None
    if augment and spec.augmentable and bool(params['rotate'][slot]):
        affine = params['affine'][slot:slot + 1]
    mask = spec.render(mask_params, size, affine).float()
    if augment and spec.augmentable:
        w = int(params['window'][slot])
        if w >= 0:
            mask = box_filter(mask, aug.windows(size)[w])
    return mask.reshape(size)


def reference_keep_mask(aug, cuts) -> torch.Tensor:
    """Merge one sample's cut masks (a list of ``(H, W)``) into its keep
    mask ``(H, W)`` (DESIGN §1)."""
    if aug.mask_merge == 'mul':
        keep = torch.ones_like(cuts[0])
        for cut in cuts:
            keep = keep * (1 - cut)
        return keep
    total = torch.zeros_like(cuts[0])
    for cut in cuts:
        total = total + cut
    return 1 - total.clamp(max=1)


def reference_partner_image(aug, inputs: torch.Tensor, params: Params, i: int,
                            second_view: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
    """The partner image of sample ``i``, ``(C, H, W)``.

    Two-view path: the partner's second view. One-view path: the partner
    itself, or, when sample ``i`` is paired with itself, its own second view
    rendered from ``params['view']`` (DESIGN §4).
    """
    t = int(params['partner'][i])
    if second_view is not None:
        return second_view[t]
    if t != i:
        return inputs[t]
    return aug.view.render(inputs[i:i + 1], _row(params['view'], i))[0]


def reference_apply(aug, inputs: torch.Tensor, batch_score: torch.Tensor,
                    params: Params, second_view: Optional[torch.Tensor] = None
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """MiAMix with the draws ``params`` of ``aug.sample``, one sample at a
    time.

    Args:
        aug: a :class:`~mmmiamix.core.miamix.MiAMix`.
        inputs: float ``(B, C, H, W)``.
        batch_score: ``(B, K)`` one-hot or soft scores, int or float.
        params: ``aug.sample(B, (H, W), inputs.device)``.
        second_view: the two-view path's second views, or None.
    Returns:
        ``(mixed, scores)`` like :meth:`MiAMix.apply`: mixed images (dtype of
        inputs) and float32 scores.
    """
    b = inputs.shape[0]
    size = tuple(inputs.shape[-2:])
    k_max = aug.k_max
    score = batch_score.float()
    mixed = torch.empty_like(inputs)
    scores = torch.empty_like(score)
    for i in range(b):
        # Stage 3: the k_max cut masks of sample i (inactive ones are empty).
        cuts = [reference_cut_mask(aug, params, i * k_max + j, size,
                                   inputs.device) for j in range(k_max)]
        # Stage 4: merge, blend the images, weigh the labels.
        keep = reference_keep_mask(aug, cuts)
        partner = reference_partner_image(aug, inputs, params, i,
                                          second_view)
        t = int(params['partner'][i])
        weight = keep.to(inputs.dtype)
        mixed[i] = weight * inputs[i] + (1 - weight) * partner
        if aug.lam_merge == 'merged':
            lam = weight.float().mean()
        else:
            lam = params['lam'][i, -1]
        scores[i] = lam * score[i] + (1 - lam) * score[t]
    return mixed, scores


def reference_call(aug, inputs: torch.Tensor, batch_score: torch.Tensor,
                   second_view: Optional[torch.Tensor] = None,
                   generator: Optional[torch.Generator] = None):
    """Draw with ``aug.sample`` and mix with :func:`reference_apply`."""
    params = aug.sample(inputs.shape[0], inputs.shape[-2:], inputs.device,
                        generator)
    return reference_apply(aug, inputs, batch_score, params, second_view)


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
    score = batch_score.float()
    mixed = torch.empty_like(inputs)
    scores = torch.empty_like(score)
    for i in range(b):
        # Stage 1: a partner, or with p_self the sample itself.
        draw = torch.rand(2, device=dev, generator=generator)
        t = i if (b == 1 or float(draw[0]) < aug.p_self) else \
            (i + 1 + int(float(draw[1]) * (b - 1))) % b
        # Stage 2: k layers, Dirichlet ratios, one method per layer.
        one = aug.sample(1, size, dev, generator)
        one['partner'] = torch.tensor([0], device=dev)
        # Stage 3: the masks of this sample's k_max slots.
        cuts = [reference_cut_mask(aug, one, j, size, dev)
                for j in range(aug.k_max)]
        keep = reference_keep_mask(aug, cuts).to(inputs.dtype)
        # Stage 4: the partner image, the blend and the labels.
        if second_view is not None:
            partner = second_view[t]
        elif t == i:
            partner = aug.view.render(inputs[i:i + 1], one['view'])[0]
        else:
            partner = inputs[t]
        mixed[i] = keep * inputs[i] + (1 - keep) * partner
        lam = keep.float().mean() if aug.lam_merge == 'merged' else \
            one['lam'][0, -1]
        scores[i] = lam * score[i] + (1 - lam) * score[t]
    return mixed, scores

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

from .mask_augment import smooth_masks
from .methods import get_method


def _row(params: Dict[str, torch.Tensor], *index) -> Dict[str, torch.Tensor]:
    """Entry ``index`` of every tensor, keeping a batch axis of 1."""
    return {name: value[index].unsqueeze(0) for name, value in params.items()}


def reference_cut_mask(aug, draws, i: int, j: int, size: Tuple[int, int],
                       augment: bool = True) -> torch.Tensor:
    """The cut mask of layer ``j`` of sample ``i``, float32 ``(H, W)``.

    Paper §3.2.3: the method's mask of share ``draws.ratios[i, j]``; for
    cutmix, fmix and gridmix masks a rotation and shear by
    ``draws.affine[i, j]`` where ``draws.warp[i, j]`` is set, and a
    smoothing with window ``aug.windows(size)[draws.window[i, j]]`` where
    ``draws.smooth[i, j]`` is set.
    """
    device = draws.ratios.device
    if not bool(draws.active[i, j]):  # beyond this sample's k: empty
        return torch.zeros(size, device=device)
    name = aug.methods[int(draws.method[i, j])]
    spec = get_method(name)
    affine = None
    if augment and bool(draws.warp[i, j]):
        affine = draws.affine[i, j].unsqueeze(0)
    slot = i * aug.k_max + j
    mask = spec.render(_row(draws.masks[name], slot), size, affine).float()
    mask = mask.expand(1, 1, *size)
    if augment and bool(draws.smooth[i, j]):
        kernels = aug._tables(size, device).kernels
        mask = smooth_masks(mask, kernels[draws.window[i, j]].unsqueeze(0))
    return mask.reshape(size)


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


def reference_partner_image(aug, inputs: torch.Tensor, draws, i: int,
                            second_view: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
    """The partner image of sample ``i``, ``(C, H, W)``.

    Two-view path: the partner's second view. One-view path: the partner
    itself, or, when sample ``i`` is paired with itself, its own second view
    rendered from ``draws.view`` (docs/design.md, "Pairing and the second
    view").
    """
    t = int(draws.partner[i])
    if second_view is not None:
        return second_view[t]
    if t != i:
        return inputs[t]
    return aug.view.render(inputs[i:i + 1], _row(draws.view, i))[0]


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
    b = inputs.shape[0]
    size = tuple(inputs.shape[-2:])
    score = batch_score.float()
    mixed = torch.empty_like(inputs)
    scores = torch.empty_like(score)
    for i in range(b):
        # Stage 3: the k_max cut masks of sample i (inactive ones are empty).
        cuts = [reference_cut_mask(aug, draws, i, j, size)
                for j in range(aug.k_max)]
        # Stage 4: merge, blend the images, weigh the labels.
        keep = reference_keep_mask(aug, cuts)
        partner = reference_partner_image(aug, inputs, draws, i, second_view)
        t = int(draws.partner[i])
        weight = keep.to(inputs.dtype)
        mixed[i] = weight * inputs[i] + (1 - weight) * partner
        if aug.lam_merge == 'merged':
            lam = weight.float().mean()
        else:
            lam = draws.ratios[i, -1]
        scores[i] = lam * score[i] + (1 - lam) * score[t]
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
        # Stage 3: the masks of this sample's k_max layers.
        cuts = [reference_cut_mask(aug, one, 0, j, size)
                for j in range(aug.k_max)]
        keep = reference_keep_mask(aug, cuts).to(inputs.dtype)
        # Stage 4: the partner image, the blend and the labels.
        if second_view is not None:
            partner = second_view[t]
        elif t == i:
            partner = aug.view.render(inputs[i:i + 1], one.view)[0]
        else:
            partner = inputs[t]
        mixed[i] = keep * inputs[i] + (1 - keep) * partner
        lam = keep.float().mean() if aug.lam_merge == 'merged' else \
            one.ratios[0, -1]
        scores[i] = lam * score[i] + (1 - lam) * score[t]
    return mixed, scores

"""The compact renderer of MiAMix's cut masks: only the slots each method
got are computed (found with ``nonzero``, a host sync on CUDA), so less
arithmetic, faster on the CPU. Unwarped boxes that are smoothed render and
smooth as rows times columns."""
import torch

from .mask_augment import smooth_masks, smooth_separable
from .rendering import Tables, flat, slot_kernels


def _rows(params, index):
    """The parameters of the slots ``index`` (long ``(n,)``)."""
    return {key: value.index_select(0, index) for key, value in params.items()}


def cut_masks(draws, table: Tables, size, augment: bool = True
              ) -> torch.Tensor:
    """Every slot's cut mask, float32 ``(B, k_max, H, W)``, equal to
    :func:`~.render_dense.cut_masks`'s."""
    b, k_max = draws.method.shape
    method, active = flat(draws.method), flat(draws.active)
    # every active slot is written below; only the others need zeros
    cuts = torch.empty(method.shape[0], 1, *size, device=method.device)
    cuts.index_fill_(0, (~active).nonzero().squeeze(1), 0.0)
    warped = flat(draws.warp) & augment
    smooth = flat(draws.smooth) & augment
    kernels = slot_kernels(table, draws.window)
    separable = smooth & ~warped & table.separable[method]
    affines = flat(draws.affine)
    for m, spec in enumerate(table.methods):
        for rotated in (False, True):
            hit = active & (method == m) & (warped == rotated)
            index = (hit & ~separable).nonzero().squeeze(1)
            if index.numel():
                warp = affines.index_select(0, index) if rotated else None
                cuts.index_copy_(0, index, spec.render(
                    _rows(draws.masks[spec.name], index), size, warp)
                    .expand(-1, 1, *size).float())
            index = (hit & separable).nonzero().squeeze(1)
            if index.numel():
                rows, cols = spec.family.axes(spec.stack(
                    _rows(draws.masks[spec.name], index), size), size)
                cuts.index_copy_(0, index, smooth_separable(
                    rows.float(), cols.float(),
                    kernels.index_select(0, index)))
    index = (smooth & ~separable).nonzero().squeeze(1)
    if index.numel():
        cuts.index_copy_(0, index, smooth_masks(
            cuts.index_select(0, index), kernels.index_select(0, index)))
    return cuts.view(b, k_max, *size)

"""The sync-free renderer of MiAMix's cut masks.

Each mask family (FMix's noise, the boxes of cutmix and gridmix, the
Gaussians of gmix and agmix, mixup's constant, a user method alone) is
rendered once over all ``S = B * k_max`` slots and selected per slot; then
every slot is smoothed with its own window in one pass. No host-device
sync, and an op count that depends on neither the batch nor the image size.
"""
import torch

from .mask_augment import smooth_masks
from .rendering import Group, Tables, flat, slot_kernels, slot_warp

#: The slots are smoothed in this many chunks: the padded masks, the
#: convolution's reordered input and its output stay within a mask buffer.
SMOOTH_CHUNKS = 2


def _group_value(group: Group, draws, method: torch.Tensor, size):
    """The group's members' parameters as the family's value, each slot
    holding its own method's (the last member's where none matches)."""
    value = None
    for index, spec in group.members:
        params = draws.masks[spec.name]
        own = params if spec.stack is None else spec.stack(params, size)
        value = own if value is None else torch.where(
            (method == index).view(-1, *[1] * (own.dim() - 1)), own, value)
    return value


def cut_masks(draws, table: Tables, size, augment: bool = True
              ) -> torch.Tensor:
    """Every slot's cut mask, float32 ``(B, k_max, H, W)``; ``augment``:
    warped and smoothed as drawn (else the masks before that stage).

    The noise family goes first, so its selection's copies are alive before
    the mask buffer is."""
    b, k_max = draws.method.shape
    slots = b * k_max
    method = flat(draws.method)
    warp = slot_warp(draws, augment)
    warped = flat(draws.warp) if augment else None
    code = table.code[method].view(-1, 1, 1, 1) \
        if len(table.groups) > 1 else None
    cut = None
    for group in table.groups:
        field = group.family.render(_group_value(group, draws, method, size),
                                    size, warp, warped)
        if cut is None:  # the first family's masks become the buffer
            cut = field if field.shape == (slots, 1, *size) else \
                field.expand(slots, 1, *size).contiguous()
        else:
            torch.where(code == group.code, field, cut, out=cut)
        del field
    if augment and table.smoothing:
        _smooth(cut, slot_kernels(table, draws.window),
                flat(draws.smooth).view(-1, 1, 1, 1))
    return cut.view(b, k_max, *size)


def _smooth(cut, kernels, hit):
    """Every slot of ``cut`` filtered with its kernel, kept where ``hit``,
    in place."""
    for part, kernel, keep in zip(cut.chunk(SMOOTH_CHUNKS),
                                  kernels.chunk(SMOOTH_CHUNKS),
                                  hit.chunk(SMOOTH_CHUNKS)):
        torch.where(keep, smooth_masks(part, kernel), part, out=part)

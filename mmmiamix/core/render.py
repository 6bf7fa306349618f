"""The renderer of MiAMix's masks (stages 3-4): every family of methods
renders the rows its groups got (:mod:`.plan`), no more; the warped rows
alone are warped, the smoothed rows alone smoothed, and each row's mask
multiplies into its sample's keep mask.

No host-device sync: every size is known on the host, and unused rows land
in a spare sample. The op count depends on neither the batch nor the image
size. On the CPU unwarped boxes render (and smooth) as rows times columns
and every render call's masks are smoothed and merged as soon as they are
made; elsewhere all the full-size masks are smoothed by one grouped 2-D
convolution and merged by one ``index_reduce_`` (:class:`Layout`).
"""
import warnings
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple, Union

import torch

from . import host
from .constants import device_constant
from .mask_augment import smooth_masks, smooth_separable, smoothing_kernels
from .methods import Family, MaskMethod, get_method
from .plan import Plan

# ``index_reduce_`` (the merge) warns once per process that it is in beta.
warnings.filterwarnings('ignore', message=r'index_reduce\(\) is in beta',
                        category=UserWarning)

#: A set of rows: a slice where they are consecutive, else a long tensor.
Rows = Union[slice, torch.Tensor]
#: All the rows (taking them is no op).
ALL = slice(None)

#: Families of methods without one (each renders alone) come last.
OWN_ORDER = 10**6


@dataclass(frozen=True, eq=False)
class FamilyRows:
    """The rows one family renders, as static indices.

    Attributes:
        family: the :class:`~.methods.Family`.
        members: per member method with rows, ``(method, first, last)``:
            its rows in the row table.
        rows: the family's rows in the row table (a slice).
        parts: the render calls, ``(rows, warped, separable)`` each:
            the family's rows it renders (indices into ``rows``), how many
            of them (the first) are warped, and whether they render as
            rows x columns (``family.axes``, smoothed factor by factor).
        smooth_axes: whether a separable part smooths any row.
        part_rows: each part's rows in the row table, in render order.
    """
    family: Family
    members: Tuple[Tuple[MaskMethod, int, int], ...]
    rows: slice
    parts: Tuple[Tuple[Rows, int, bool], ...]
    smooth_axes: bool
    part_rows: Tuple[Tuple[int, ...], ...]


@dataclass(frozen=True, eq=False)
class Block:
    """Full-size masks smoothed and merged together: the parts rendered
    into it (``(family, part)`` indices, in order), their rows in the row
    table (``rows``), and which of them the 2-D filter smooths (``smooth``:
    positions among them; ``smooth_rows``: their rows)."""
    parts: Tuple[Tuple[int, int], ...]
    rows: Rows
    smooth: Optional[Rows]
    smooth_rows: Optional[torch.Tensor]


@dataclass(frozen=True, eq=False)
class Layout:
    """How one call renders: the families in order and the blocks of their
    full-size masks (the constant families' values go to the samples
    directly). Where a call costs its arithmetic every part is a block of
    its own (its masks merge as soon as they are made); where it costs its
    launches every part joins one block (one smoothing, one merge)."""
    families: Tuple[FamilyRows, ...]
    blocks: Tuple[Block, ...]


def as_rows(index, device, total: int) -> Optional[Rows]:
    """Indices into ``total`` rows as :data:`ALL` when they are all of
    them in order, a slice when consecutive, a long tensor otherwise; None
    when empty."""
    index = list(index)
    if not index:
        return None
    if index == list(range(total)):
        return ALL
    if index == list(range(index[0], index[-1] + 1)):
        return slice(index[0], index[-1] + 1)
    return torch.tensor(index, dtype=torch.long, device=device)


def take(value, rows: Optional[Rows]):
    """``value`` (a tensor, or a dict of tensors of one row count, or
    None) at ``rows`` (None or :data:`ALL`: all of them)."""
    if value is None or rows is None or rows is ALL:
        return value
    if isinstance(value, dict):
        return {k: take(v, rows) for k, v in value.items()}
    return value[rows] if isinstance(rows, slice) else \
        value.index_select(0, rows)


def _own_family(method: MaskMethod) -> Family:
    """A method without a family renders alone with its own ``render``,
    warped rows with their warp and the others with the identity."""
    def render(params, size, warp=None):
        n = params['lam'].shape[0]
        if not method.augmentable:
            return method.render(params, size)
        if warp is None:
            return method.render(params, size, None)
        if warp.shape[0] < n:
            eye = torch.eye(2, device=warp.device, dtype=warp.dtype)
            warp = torch.cat([warp, eye.expand(n - warp.shape[0], 2, 2)])
        return method.render(params, size, warp)
    return Family(method.name, render, OWN_ORDER)


def _family_rows(family, members, plan, device, arithmetic):
    """The static rows of one family's members (``(index, method, first,
    last)`` each): its :class:`FamilyRows`, and the set of its smoothed
    rows (in the row table)."""
    first, last = members[0][2], members[-1][3]
    indices = {index for index, _, _, _ in members}
    warped, unwarped, smoothed = [], [], set()
    for g, group in enumerate(plan.groups):
        if group.method in indices:
            rows = list(plan.rows_of(g))
            (warped if group.warp else unwarped).extend(rows)
            if group.smooth:
                smoothed.update(rows)
    # Where a call costs its arithmetic, unwarped boxes render as rows x
    # columns; where it costs its launches, every row takes the warped
    # render (the identity warp is exact for boxes).
    separable = family.axes is not None and arithmetic and all(
        m.stack is not None for _, m, _, _ in members)
    if family.axes is not None and not separable:
        warped, unwarped = sorted(warped + unwarped), []
    n = last - first
    if separable:
        parts = [(unwarped, 0, True)] if unwarped else []
        parts += [(warped, len(warped), False)] if warped else []
    else:
        parts = [(warped + unwarped, len(warped), False)]
    fam = FamilyRows(
        family=family, members=tuple(m[1:] for m in members),
        rows=slice(first, last),
        parts=tuple((as_rows([r - first for r in rows], device, n), w, sep)
                    for rows, w, sep in parts),
        smooth_axes=separable and bool(smoothed & set(unwarped)),
        part_rows=tuple(tuple(rows) for rows, _, _ in parts))
    return fam, smoothed


@device_constant
def layout(plan: Plan, methods: Tuple[str, ...], device,
           arithmetic: bool) -> Layout:
    """The :class:`Layout` of ``methods`` with the rows of ``plan``;
    ``arithmetic``: :func:`~.host.arithmetic_bound`."""
    by_family = {}
    for index, first, last in plan.method_rows:
        spec = get_method(methods[index])
        family = spec.family or _own_family(spec)
        by_family.setdefault(family.name, (family, []))[1].append(
            (index, spec, first, last))
    families, parts = [], []
    for f, (family, members) in enumerate(by_family.values()):
        fam, smoothed = _family_rows(family, members, plan, device,
                                     arithmetic)
        families.append(fam)
        if not family.constant:
            parts += [((f, p), rows, [] if separable else
                       [r for r in rows if r in smoothed])
                      for p, (rows, (_, _, separable)) in enumerate(
                          zip(fam.part_rows, fam.parts))]
    groups = [[part] for part in parts] if arithmetic else [parts]
    return Layout(families=tuple(families), blocks=tuple(
        _block(group, device, plan.rows) for group in groups if group))


def _block(group, device, total: int) -> Block:
    """The :class:`Block` of parts ``((family, part), rows, smoothed)``."""
    rows = [r for _, part_rows, _ in group for r in part_rows]
    smoothed = [r for _, _, part_smoothed in group for r in part_smoothed]
    position = {r: i for i, r in enumerate(rows)}
    return Block(
        parts=tuple(key for key, _, _ in group),
        rows=as_rows(rows, device, total),
        smooth=as_rows([position[r] for r in smoothed], device, len(rows)),
        smooth_rows=torch.tensor(smoothed, dtype=torch.long, device=device)
        if smoothed else None)


@device_constant
def kernels_table(windows: Tuple[int, ...], smooth_filter: str, device):
    """See :func:`~.mask_augment.smoothing_kernels`."""
    return smoothing_kernels(windows, smooth_filter, device)


def check_groups(methods: Tuple[str, ...]) -> None:
    """Raise unless every family with several members among ``methods``
    can stack their parameters (see :class:`~.methods.MaskMethod`)."""
    seen = {}
    for name in methods:
        spec = get_method(name)
        if spec.family is not None:
            seen.setdefault(spec.family.name, []).append(spec)
    for family, specs in seen.items():
        lacking = [s.name for s in specs if s.stack is None]
        if len(specs) > 1 and lacking:
            raise ValueError(f'methods {[s.name for s in specs]} share the '
                             f'family {family!r}, so each needs a stack; '
                             f'{lacking} has none')


def _value(fam: FamilyRows, draws, size):
    """The members' parameters as the family's value, in row order."""
    parts = []
    for spec, first, last in fam.members:
        params = draws.masks[spec.name]
        value = params if spec.stack is None else spec.stack(params, size)
        parts.append(take(value, slice(first, last)))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def render_family(fam: FamilyRows, draws, kernels: torch.Tensor, size,
                  augment: bool = True
                  ) -> Iterator[Tuple[Rows, torch.Tensor]]:
    """The family's masks, float32 ``(n, 1, H, W)`` (a constant family
    ``(n, 1, 1, 1)``), part by part: ``(rows, masks)`` with ``rows`` the
    family's rows they are (indices into ``fam.rows``). ``augment``: the
    warped rows warped, the separable parts smoothed as drawn (the 2-D
    filter comes after, :func:`full_masks`)."""
    value = _value(fam, draws, size)
    window = draws.window[fam.rows] if augment and fam.smooth_axes else None
    for rows, warped, separable in fam.parts:
        part = take(value, rows)
        if separable:
            yield rows, _render_axes(fam, part, take(window, rows), kernels,
                                     size, augment)
            continue
        warp = None
        if augment and warped:
            affine = take(draws.affine[fam.rows], rows)
            warp = affine if warped == affine.shape[0] else affine[:warped]
        yield rows, fam.family.render(part, size, warp)


def full_masks(draws, lay: Layout, kernels: torch.Tensor, size,
               augment: bool = True, constant=None
               ) -> Iterator[Tuple[Block, torch.Tensor]]:
    """Every family's masks, block by block (:class:`Layout`): ``(block,
    masks)``, float32 ``(n, 1, H, W)`` (a new tensor), smoothed by the 2-D
    filter where drawn (``augment``). ``constant(fam, rows, values)``
    takes each constant family's values (float ``(m,)``)."""
    blocks = iter(lay.blocks)
    block = next(blocks, None)
    done = {}
    for f, fam in enumerate(lay.families):
        parts = render_family(fam, draws, kernels, size, augment)
        for p, (rows, masks) in enumerate(parts):
            if fam.family.constant:
                constant(fam, rows, masks.reshape(-1))
                continue
            if masks.shape[1:] != (1, *size):
                masks = masks.expand(-1, 1, *size)
            done[f, p] = masks if fam.family.fresh else masks.clone()
            del masks
            while block is not None and all(k in done for k in block.parts):
                yield block, _smoothed(block, [done.pop(k) for k in
                                               block.parts], draws,
                                       kernels, augment)
                block = next(blocks, None)


def _smoothed(block: Block, parts, draws, kernels, augment):
    """The block's masks, its smoothed rows filtered by the 2-D filter."""
    masks = parts[0] if len(parts) == 1 else torch.cat(parts)
    del parts
    if augment and block.smooth is not None:
        kernel = kernels[draws.window[block.smooth_rows]]
        smoothed = smooth_masks(take(masks, block.smooth), kernel)
        if isinstance(block.smooth, slice):
            masks[block.smooth] = smoothed
        else:
            masks.index_copy_(0, block.smooth, smoothed)
    return masks


def _render_axes(fam, value, window, kernels, size, augment):
    """Unwarped rows of a separable family as rows x columns, each factor
    smoothed by its row's kernel (the identity where not smoothed)."""
    rows, cols = fam.family.axes(value, size)
    if augment and fam.smooth_axes:
        return smooth_separable(rows.float(), cols.float(), kernels[window])
    return (rows & cols).float()


def keep_mask(draws, methods, kernels, size, mask_merge: str
              ) -> torch.Tensor:
    """Stages 3-4: the keep mask, float32 ``(B, 1, H, W)``: ``prod_j (1 -
    M_j)`` (``'mul'``) or ``1 - clip(sum_j M_j, 0, 1)`` (``'sum'``) over
    each sample's cut masks. A view of ``B + 1`` rows (the last collects
    the unused rows)."""
    b = draws.active.shape[0]
    mul = mask_merge == 'mul'
    device = draws.sample.device
    lay = layout(draws.plan, methods, device, host.arithmetic_bound(device))
    uniform = []

    def constant(fam, rows, values):  # one value a row: a factor a sample
        if not uniform:
            uniform.append(torch.full((b + 1, ), float(mul), device=device))
        _accumulate(uniform[0], take(draws.sample[fam.rows], rows), values,
                    mul, False)

    keep = (torch.ones if mul else torch.zeros)(b + 1, 1, *size,
                                                device=device)
    for block, masks in full_masks(draws, lay, kernels, size,
                                   constant=constant):
        _accumulate(keep, take(draws.sample, block.rows), masks, mul, True)
        del masks
    if uniform:
        factor = uniform[0].view(-1, 1, 1, 1)
        keep.mul_(factor) if mul else keep.add_(factor)
    if not mul:
        keep.clamp_(max=1).neg_().add_(1)
    return keep[:b]


def _accumulate(into: torch.Tensor, index: torch.Tensor,
                masks: torch.Tensor, mul: bool, owned: bool) -> None:
    """``into[index[n]] *= 1 - masks[n]`` (``mul``) or ``+= masks[n]``, for
    every row ``n``; ``owned``: ``masks`` may be overwritten."""
    if not mul:
        into.index_add_(0, index, masks)
        return
    factor = torch.sub(_one(masks.device), masks,
                       out=masks if owned else None)
    into.index_reduce_(0, index, factor, 'prod')


@device_constant
def _one(device) -> torch.Tensor:
    return torch.ones((), device=device)


def cut_masks(draws, methods, kernels, size, augment: bool = True
              ) -> torch.Tensor:
    """Every slot's cut mask, float32 ``(B, k_max, H, W)`` (0 where
    inactive); ``augment``: warped and smoothed as drawn (else before that
    stage). For inspection: the training path merges rows directly
    (:func:`keep_mask`)."""
    b, k_max = draws.active.shape
    device = draws.sample.device
    lay = layout(draws.plan, methods, device, host.arithmetic_bound(device))
    cut = torch.zeros(b * k_max + 1, 1, *size, device=device)
    slots = draws.row_slots()

    def constant(fam, rows, values):
        cut.index_copy_(0, take(slots[fam.rows], rows),
                        values.view(-1, 1, 1, 1).expand(-1, 1, *size))

    for block, masks in full_masks(draws, lay, kernels, size, augment,
                                   constant):
        cut.index_copy_(0, take(slots, block.rows), masks)
    return cut[:-1].view(b, k_max, *size)

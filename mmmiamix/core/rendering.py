"""What the two renderers of MiAMix's masks share: the methods grouped by
family, the per-device tables of a call, and the merge of the cut masks.

Both renderers (:mod:`.render_dense`, :mod:`.render_compact`) are functions
of (draws, tables, size) and give the same values draw for draw as the
per-sample :mod:`.reference`.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from .constants import device_constant
from .mask_augment import smoothing_kernels
from .methods import Family, MaskMethod, get_method

#: Families of methods without one (each renders alone) come after the
#: built-in ones.
OWN_ORDER = 100


@dataclass(frozen=True, eq=False)
class Group:
    """The methods of one family among a MiAMix's methods: ``members`` as
    (index into ``methods``, method) pairs."""
    family: Family
    members: Tuple[Tuple[int, MaskMethod], ...]
    code: int


@dataclass(frozen=True, eq=False)
class Tables:
    """The constant tensors and groups of one call, made once per device,
    size and setting.

    Attributes:
        methods: the MaskMethods, in the order of ``MiAMix.methods``.
        groups: the families present, in render order.
        code: long ``(M,)``, each method's group (index into ``groups``).
        separable: bool ``(M,)``, unwarped masks render as rows x columns.
        kernels: float32 ``(len(windows) + 1, max(windows))``, see
            :func:`~.mask_augment.smoothing_kernels`.
        smoothing: whether any slot can be smoothed at all.
    """
    methods: Tuple[MaskMethod, ...]
    groups: Tuple[Group, ...]
    code: torch.Tensor
    separable: torch.Tensor
    kernels: torch.Tensor
    smoothing: bool


def _own_family(method: MaskMethod) -> Family:
    """A method without a family renders alone, with its own render."""
    def render(params, size, warp=None, warped=None):
        return method.render(params, size,
                             warp if method.augmentable else None)
    return Family(method.name, render, OWN_ORDER)


@device_constant
def tables(methods: Tuple[str, ...], windows: Tuple[int, ...],
           smooth_filter: str, smoothing: bool, device) -> Tables:
    """The :class:`Tables` of a MiAMix with these methods (names) and
    smoothing windows on ``device``; ``smoothing``: ``p_smooth > 0``."""
    specs = tuple(get_method(m) for m in methods)
    by_family = {}
    for index, spec in enumerate(specs):
        family = spec.family or _own_family(spec)
        by_family.setdefault(family.name, (family, []))[1].append(
            (index, spec))
    ordered = sorted(by_family.values(), key=lambda f: f[0].order)
    groups = tuple(Group(family, tuple(members), code)
                   for code, (family, members) in enumerate(ordered))
    code = [0] * len(specs)
    for group in groups:
        for index, _ in group.members:
            code[index] = group.code
    separable = [s.family is not None and s.family.axes is not None
                 and s.stack is not None for s in specs]
    return Tables(
        methods=specs, groups=groups,
        code=torch.tensor(code, device=device),
        separable=torch.tensor(separable, device=device),
        kernels=smoothing_kernels(windows, smooth_filter, device),
        smoothing=smoothing and any(s.augmentable for s in specs))


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


def merge(cut: torch.Tensor, mask_merge: str, into_cut: bool = False
          ) -> torch.Tensor:
    """Stage 4: cut masks ``(B, k_max, H, W)`` to the keep mask, float32
    ``(B, 1, H, W)``: ``prod_j (1 - M_j)`` (``'mul'``) or ``1 - clip(sum_j
    M_j, 0, 1)`` (``'sum'``); ``into_cut``: written into ``cut``'s first
    layer (a strided view; ``cut`` is given up)."""
    first = cut[:, :1]
    if mask_merge == 'sum':
        if not into_cut:
            return cut.sum(dim=1, keepdim=True).clamp_(max=1).neg_().add_(1)
        for j in range(1, cut.shape[1]):  # layers, not samples
            first.add_(cut[:, j:j + 1])
        return first.clamp_(max=1).neg_().add_(1)
    keep = first.neg_().add_(1) if into_cut else 1 - first
    for j in range(1, cut.shape[1]):  # layers, not samples
        keep.addcmul_(keep, cut[:, j:j + 1], value=-1)
    return keep


def slot_kernels(table: Tables, window: torch.Tensor) -> torch.Tensor:
    """Each slot's smoothing kernel, float32 ``(S, max(windows))``, from
    the window draws (long, any shape of ``S`` entries)."""
    return table.kernels[window.reshape(-1)]


def flat(t: torch.Tensor) -> torch.Tensor:
    """``(B, k_max, ...)`` to ``(S, ...)``."""
    return t.reshape(-1, *t.shape[2:])


def slot_warp(draws, augment: bool) -> Optional[torch.Tensor]:
    """Every slot's warp, float32 ``(S, 2, 2)`` (the identity where not
    warped), or None without augmentation."""
    return flat(draws.affine) if augment else None

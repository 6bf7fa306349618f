"""How one MiAMix call lays out its mask work: which slots render with which
method, warp and smoothing, in buffers whose sizes the host knows.

A batch of ``B`` samples has ``S = B * k_max`` mask *slots* (slot ``i * k_max
+ j`` is layer ``j`` of sample ``i``); sample ``i`` uses its first ``k_i``.
Every active slot falls in one *group*: a method and, for the augmentable
methods (cutmix, fmix, gridmix), whether it is warped (``p_aug``) and
whether it is smoothed (``p_smooth``); group ``g`` has the probability
``p_g`` = the method's weight share times ``p_aug`` or ``1 - p_aug`` times
``p_smooth`` or ``1 - p_smooth`` (paper §3.2.2-3.2.3).

The draws are *stratified* (systematic sampling, :func:`systematic_starts`):
the number of samples with ``k`` layers is the floor or the ceiling of ``B
w_k``, the number of self-paired samples that of ``B p_self``, and the number
of the ``A`` active slots in group ``g`` that of ``A p_g``, each with exactly
its expected value; which samples and slots they are is a uniform random
permutation drawn on the device. So every sample's ``k`` and pairing and
every slot's group keep exactly the paper's probabilities (only the counts
inside one batch vary less), and group ``g`` renders into ``cap_g =
ceil(A_max p_g)`` rows, a number the host computes from ``B`` alone: work in
proportion to the draws, without a host-device sync.

Probabilities are exact fractions (weights given as floats are read as the
nearest fraction of denominator at most :data:`MAX_DENOMINATOR`), so the
counts are integer arithmetic on the device and their expectations exact.
"""
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence, Tuple

import torch

from .constants import device_constant
from .methods import get_method

#: Weights and probabilities are read as fractions of at most this
#: denominator (0.1 is 1/10, 1/3 stays 1/3).
MAX_DENOMINATOR = 10_000

#: Row order of an augmentable method's four groups, (warp, smooth): the
#: warped ones first (the renderers warp a leading block of rows).
AUGMENT_ORDER = ((True, False), (True, True), (False, True), (False, False))


def fractions(weights: Sequence[float]) -> Tuple[Fraction, ...]:
    """Sampling weights as exact probabilities: fractions summing to 1."""
    parts = [Fraction(w).limit_denominator(MAX_DENOMINATOR) for w in weights]
    total = sum(parts)
    return tuple(p / total for p in parts)


def probability(p: float) -> Fraction:
    """A probability in [0, 1] as a fraction."""
    return Fraction(p).limit_denominator(MAX_DENOMINATOR)


def ceil_share(n: int, share: Fraction) -> int:
    """``ceil(n * share)``, exactly."""
    return -(-n * share.numerator // share.denominator)


@dataclass(frozen=True)
class Group:
    """Active slots of one method, warped or not, smoothed or not."""
    method: int  # index into MiAMix.methods
    warp: bool
    smooth: bool
    share: Fraction  # probability of an active slot


@dataclass(frozen=True)
class Stratum:
    """Systematic sampling of ``n`` items over categories of the given
    probabilities: the cumulative numerators (long ``(G + 1,)``, from 0 to
    the denominator) over one denominator."""
    numerators: torch.Tensor
    denominator: int


def cumulative_numerators(shares: Sequence[Fraction]):
    """``(numerators, denominator)`` of the cumulative sums of ``shares``
    over their common denominator."""
    q = math.lcm(*(s.denominator for s in shares)) if shares else 1
    cum = [0]
    for s in shares:
        cum.append(cum[-1] + s.numerator * (q // s.denominator))
    return cum, q


def stratum(shares: Sequence[Fraction], device) -> Stratum:
    """The :class:`Stratum` of categories of these probabilities."""
    cum, q = cumulative_numerators(shares)
    return Stratum(torch.tensor(cum, dtype=torch.long, device=device), q)


def systematic_starts(strat: Stratum, n, offset: torch.Tensor
                      ) -> torch.Tensor:
    """First position of each category among ``n`` items (an int or a long
    scalar tensor): long ``(G + 1,)``, from 0 to ``n``.

    Category ``g`` holds positions ``[start_g, start_{g+1})``: ``start_g =
    floor((C_g n + offset) / Q)`` for the cumulative numerators ``C_g`` over
    the denominator ``Q`` and ``offset`` (long, uniform in ``[0, Q)``), so
    each count is the floor or the ceiling of ``n p_g`` and its
    expectation exactly ``n p_g`` (Hermite's identity).
    """
    return torch.div(strat.numerators * n + offset, strat.denominator,
                     rounding_mode='floor')


def _active_max(batch: int, shares: Sequence[Fraction],
                layers: Sequence[int]) -> int:
    """The most active slots the stratified sample categories allow (of
    these probabilities, with this many layers each): each count is the
    floor of ``B p`` plus one for ``B - sum(floors)`` of the categories
    with a fractional part, the most layers first."""
    floors = [batch * p.numerator // p.denominator for p in shares]
    spare = batch - sum(floors)
    fractional = [k for k, p in zip(layers, shares)
                  if batch * p.numerator % p.denominator]
    extra = sorted(fractional, reverse=True)[:spare]
    return sum(k * f for k, f in zip(layers, floors)) + sum(extra)


def _groups(methods, method_shares, p_aug, p_smooth) -> Tuple[Group, ...]:
    """The groups with a positive probability, in the renderers' order (by
    family, then method, then :data:`AUGMENT_ORDER`)."""
    specs = [get_method(m) for m in methods]
    order = sorted(range(len(specs)), key=lambda i: (
        (specs[i].family.order, specs[i].family.name) if specs[i].family
        else (10**6, specs[i].name), i))
    groups = []
    for index in order:
        share = method_shares[index]
        if not specs[index].augmentable:
            cases = [((False, False), share)]
        else:
            cases = [((w, s), share * (p_aug if w else 1 - p_aug) *
                      (p_smooth if s else 1 - p_smooth))
                     for w, s in AUGMENT_ORDER]
        groups += [Group(index, w, s, p) for (w, s), p in cases if p > 0]
    return tuple(groups)


@dataclass(frozen=True, eq=False)
class Plan:
    """The layout of one call for a batch of ``batch`` samples.

    Attributes:
        groups: the groups with a positive probability, in row order.
        caps: rows of each group (``ceil(active_max * share)``).
        offsets: first row of each group, and the total ``R`` last.
        active_max: most active slots (of ``batch * k_max``).
        self_cap: most self-paired samples (``ceil(batch * p_self)``).
        samples: the :class:`Stratum` of the samples, self-pairing (self
            first) and the layer counts side by side: the pairing's
            numerators over its denominator, then the layers' (the first
            of each ``k``): see :func:`systematic_starts`; the offsets of
            its entries are ``offsets[samples_offset]``.
        denominators: the pairing's, the layers' and the slots'
            denominators (host ints).
        slots: the :class:`Stratum` of the groups.
        method_rows: per method with rows, ``(index, first, last)``: its
            rows (its groups are consecutive in row order).
        row_group: long ``(R,)``, each row's group (``row_group_next``: the
            next one).
        row_offset: long ``(R,)``, each row's place in its group.
    """
    batch: int
    k_max: int
    groups: Tuple[Group, ...]
    caps: Tuple[int, ...]
    offsets: Tuple[int, ...]
    active_max: int
    self_cap: int
    samples: Stratum
    denominators: Tuple[int, int]
    slots: Stratum
    method_rows: Tuple[Tuple[int, int, int], ...]
    row_group: torch.Tensor
    row_group_next: torch.Tensor
    row_offset: torch.Tensor

    @property
    def rows(self) -> int:
        """Rows of every group together, ``R``."""
        return self.offsets[-1]

    def rows_of(self, group: int) -> range:
        """The rows of one group."""
        return range(self.offsets[group], self.offsets[group + 1])


@device_constant
def make_plan(batch: int, k_max: int, layer_weights: Tuple[float, ...],
              methods: Tuple[str, ...], method_weights: Tuple[float, ...],
              p_aug: float, p_smooth: float, p_self: float, device) -> Plan:
    """The :class:`Plan` of a MiAMix with these settings for ``batch``
    samples on ``device`` (made once per setting, batch size and device)."""
    layers = fractions(layer_weights)
    p_pair = Fraction(1) if batch == 1 else probability(p_self)
    samples = [p_pair * w for w in layers] + [(1 - p_pair) * w
                                              for w in layers]
    groups = _groups(methods, fractions(method_weights), probability(p_aug),
                     probability(p_smooth))
    active_max = _active_max(batch, samples, list(range(1, k_max + 1)) * 2)
    caps = tuple(ceil_share(active_max, g.share) for g in groups)
    offsets = [0]
    for cap in caps:
        offsets.append(offsets[-1] + cap)
    row_group = [g for g, cap in enumerate(caps) for _ in range(cap)]
    row_offset = [t for cap in caps for t in range(cap)]
    shares = [g.share for g in groups]
    slots = stratum(shares, device)
    q_slots = cumulative_numerators(shares)[1]
    if q_slots * batch * k_max >= 2**62:
        raise ValueError('method_weights, p_aug and p_smooth make a common '
                         f'denominator of {q_slots}: too large for '
                         f'{batch * k_max} slots; use simpler weights')
    spans = {}
    for group, first, last in zip(groups, offsets, offsets[1:]):
        spans.setdefault(group.method, [first, last])[1] = last
    return Plan(
        batch=batch, k_max=k_max, groups=groups, caps=caps,
        offsets=tuple(offsets), active_max=active_max,
        self_cap=ceil_share(batch, p_pair),
        samples=stratum(samples, device),
        denominators=(cumulative_numerators(samples)[1], q_slots),
        slots=slots,
        method_rows=tuple((m, a, b) for m, (a, b) in spans.items() if b > a),
        row_group=torch.tensor(row_group, dtype=torch.long, device=device),
        row_group_next=torch.tensor(row_group, dtype=torch.long,
                                    device=device) + 1,
        row_offset=torch.tensor(row_offset, dtype=torch.long, device=device))

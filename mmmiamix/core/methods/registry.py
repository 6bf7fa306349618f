"""What one mask method is, and the registry of the methods by name.

A mask method turns per-sample partner shares ``share`` (float ``(N,)`` in
[0, 1]) into cut masks ``M`` (float32 ``(N, 1, H, W)`` in [0, 1], the
partner's weight at each pixel, ``M[n].mean() ~ share[n]``) in two steps,
kornia style: ``params(share, random, size, **args)`` turns random numbers
(``n_uniform`` uniforms per sample, or standard normals of
``normal_shape(size)``) into a dict of per-sample tensors holding at least
``lam``; ``render(params, size, warp=None)`` draws them, deterministically.
A method that is ``augmentable`` accepts a ``warp`` (float ``(N, 2, 2)``,
see :mod:`..geometry`) and gets MiAMix's rotation, shear and smoothing.

Methods of one :class:`Family` share a renderer: MiAMix renders a family
once over the rows of all its members, from each member's parameters as the
family's matrix (``stack``). A method without a family is rendered by its
own ``render`` over its rows (then, if it is augmentable, with the identity
warp where a row is not warped).

:func:`register_mask_method` adds a method, built in or the user's, under
its name: ``MiAMix(methods=...)``, :func:`make_mask`, the single-method
augments and the OpenMMLab layer look methods up here.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import torch

Params = Dict[str, torch.Tensor]
Size = Tuple[int, int]


@dataclass(frozen=True)
class Arg:
    """One argument of a method: its default and ``check(name, value) ->
    value`` (raises ValueError/TypeError naming the argument)."""
    default: Any
    check: Callable[[str, Any], Any]


@dataclass(frozen=True)
class Family:
    """Methods rendered together by MiAMix.

    ``render(value, size, warp=None)``: the masks, float32 ``(N, 1, H, W)``
    or a broadcastable view, of ``value`` (the members' ``stack``, rows of
    every member in turn); ``warp``: float ``(N_w, 2, 2)``, the warps of the
    first ``N_w`` rows (the others are not warped), or None.
    ``axes(value, size)``, if given, renders unwarped masks as bool ``rows
    (N, 1, H, 1)`` and ``cols (N, 1, 1, W)``, the mask being ``rows &
    cols`` (smoothed factor by factor). ``order``: families render in
    increasing order. ``fresh``: ``render`` returns a new tensor, which
    the caller may overwrite. ``constant``: ``render`` returns one value a
    row, ``(N, 1, 1, 1)``."""
    name: str
    render: Callable[..., torch.Tensor]
    order: int
    axes: Optional[Callable[..., Tuple[torch.Tensor, torch.Tensor]]] = None
    fresh: bool = False
    constant: bool = False


@dataclass(frozen=True, eq=False)
class MaskMethod:
    """A mask method; see the module docstring for the fields' contract.

    ``stack(params, size)``: the parameters as the family's matrix (a
    tensor of ``N`` rows; needed when the family has other members).
    """
    name: str
    params: Callable[..., Params]
    render: Callable[..., torch.Tensor]
    family: Optional[Family] = None
    n_uniform: int = 0
    augmentable: bool = False
    args: Mapping[str, Arg] = field(default_factory=dict)
    normal_shape: Optional[Callable[[Size], Tuple[int, ...]]] = None
    stack: Optional[Callable[..., torch.Tensor]] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError('MaskMethod.name must be a name (a Python '
                             f'identifier), got {self.name!r}')
        for key in ('params', 'render'):
            if not callable(getattr(self, key)):
                raise TypeError(f'MaskMethod {self.name!r}: {key} must be '
                                f'callable, got {getattr(self, key)!r}')
        for key in ('normal_shape', 'stack'):
            value = getattr(self, key)
            if value is not None and not callable(value):
                raise TypeError(f'MaskMethod {self.name!r}: {key} must be '
                                f'callable or None, got {value!r}')
        if self.family is not None and not isinstance(self.family, Family):
            raise TypeError(f'MaskMethod {self.name!r}: family must be a '
                            f'Family or None, got {self.family!r}')
        if isinstance(self.n_uniform, bool) or not isinstance(
                self.n_uniform, int) or self.n_uniform < 0:
            raise ValueError(f'MaskMethod {self.name!r}: n_uniform must be '
                             f'an int >= 0, got {self.n_uniform!r}')
        if not isinstance(self.augmentable, bool):
            raise TypeError(f'MaskMethod {self.name!r}: augmentable must be '
                            f'a bool, got {self.augmentable!r}')
        if not isinstance(self.args, Mapping) or not all(
                isinstance(a, Arg) for a in self.args.values()):
            raise TypeError(f'MaskMethod {self.name!r}: args must map names '
                            f'to Arg(default, check), got {self.args!r}')

    def check_args(self, kwargs: Mapping) -> dict:
        """Every argument of the method, validated, defaults filled in."""
        unknown = sorted(set(kwargs) - set(self.args))
        if unknown:
            allowed = tuple(self.args) or 'none'
            raise ValueError(f'method_kwargs[{self.name!r}]: unknown '
                             f'arguments {unknown}; {self.name} takes '
                             f'{allowed}')
        return {key: arg.check(key, kwargs.get(key, arg.default))
                for key, arg in self.args.items()}

    def draw(self, n: int, size: Size, device,
             generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """The random numbers of ``n`` samples: standard normals of
        ``(n, *normal_shape(size))`` or uniforms ``(n, n_uniform)``."""
        if self.normal_shape is not None:
            return torch.randn(n, *self.normal_shape(size), device=device,
                               generator=generator)
        return torch.rand(n, self.n_uniform, device=device,
                          generator=generator)

    def sample(self, share: torch.Tensor, size: Size,
               generator: Optional[torch.Generator] = None,
               **args) -> Params:
        """Draw and return the parameters for shares ``share`` (float
        ``(N,)``); ``args``: see :meth:`check_args` (defaults filled in)."""
        size, args = tuple(size), self.check_args(args)
        random = self.draw(share.shape[0], size, share.device, generator)
        return self.params(share, random, size, **args)


#: The registered methods by name (read it; add with
#: :func:`register_mask_method`).
MASK_METHODS: Dict[str, MaskMethod] = {}

#: Shares and size of the probe render of a new method.
_PROBE_SHARES = (0.0, 0.25, 0.5, 1.0)
_PROBE_SIZE = (16, 24)


def get_method(name: str) -> MaskMethod:
    """The method registered as ``name``; ValueError naming the known
    ones otherwise."""
    method = MASK_METHODS.get(name) if isinstance(name, str) else None
    if method is None:
        raise ValueError(f'method must be one of {tuple(MASK_METHODS)}, '
                         f'got {name!r}')
    return method


def register_mask_method(method: MaskMethod) -> MaskMethod:
    """Add ``method`` to :data:`MASK_METHODS` under its name and return it.

    The method is probed first: its defaults must pass its checks, and a
    render of a few shares at a small size must be a float32 ``(N, 1, H,
    W)`` tensor in [0, 1] (warped too, when augmentable) whose means follow
    the shares (empty at 0). A taken name, a
    missing field or a bad render raises a ValueError or TypeError that
    names it.
    """
    if not isinstance(method, MaskMethod):
        raise TypeError('register_mask_method takes a MaskMethod(name, '
                        'params, render, ...) , got '
                        f'{type(method).__name__}')
    if method.name in MASK_METHODS:
        raise ValueError(f'mask method name {method.name!r} is already '
                         f'taken; registered: {tuple(MASK_METHODS)}')
    _probe(method)
    MASK_METHODS[method.name] = method
    return method


def _probe(method: MaskMethod) -> None:
    """Render a tiny batch of ``method`` and check what comes back."""
    where = f'register_mask_method({method.name!r})'
    share = torch.tensor(_PROBE_SHARES)
    generator = torch.Generator().manual_seed(0)
    params = method.sample(share, _PROBE_SIZE, generator)
    if not isinstance(params, dict) or 'lam' not in params:
        raise TypeError(f'{where}: params must return a dict holding '
                        f"'lam', got {type(params).__name__}")
    masks = method.render(params, _PROBE_SIZE)
    _check_masks(where, 'render', masks)
    _check_share(where, share, masks.float().mean((1, 2, 3)))
    if method.augmentable:
        warp = torch.eye(2).expand(len(_PROBE_SHARES), 2, 2)
        try:
            masks = method.render(params, _PROBE_SIZE, warp)
        except TypeError as e:
            raise TypeError(f'{where}: an augmentable method renders with a '
                            'warp, render(params, size, warp), which failed: '
                            f'{e}') from e
        _check_masks(where, 'render with a warp', masks)
    if method.stack is not None:
        value = method.stack(params, _PROBE_SIZE)
        if not isinstance(value, torch.Tensor) or \
                value.shape[0] != len(_PROBE_SHARES):
            raise ValueError(f'{where}: stack must return a tensor of one '
                             'row per sample')


def _check_share(where: str, share: torch.Tensor, mean: torch.Tensor
                 ) -> None:
    """The masks follow the share asked: empty at 0 (MiAMix's inactive
    layers ask for 0), at most a quarter above it, and on average over the
    positive shares at least 0.4 of it (boxes clip at the borders)."""
    got = [round(v, 3) for v in mean.tolist()]
    if mean[0] > 0.02:
        raise ValueError(f'{where}: render must give an empty mask at share '
                         f'0, got mean {got[0]}')
    positive = share > 0
    if bool((mean > share + 0.25).any()) or \
            mean[positive].mean() < 0.4 * share[positive].mean():
        raise ValueError(f'{where}: render must follow the share asked: '
                         f'means {got} for shares {share.tolist()}')


def _check_masks(where: str, what: str, masks) -> None:
    shape = (len(_PROBE_SHARES), 1, *_PROBE_SIZE)
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f'{where}: {what} must return a tensor, got '
                        f'{type(masks).__name__}')
    if tuple(masks.shape) != shape:
        raise ValueError(f'{where}: {what} must return masks of shape (N, '
                         f'1, H, W) = {shape}, got {tuple(masks.shape)}')
    if masks.dtype != torch.float32:
        raise TypeError(f'{where}: {what} must return float32 masks, got '
                        f'{masks.dtype}')
    if not bool(((masks >= 0) & (masks <= 1)).all()):
        raise ValueError(f'{where}: {what} must return values in [0, 1], '
                         f'got [{masks.min().item()}, {masks.max().item()}]')


def make_mask(method: str, lam: torch.Tensor, size: Size,
              generator: Optional[torch.Generator] = None,
              **kwargs) -> torch.Tensor:
    """Cut masks of ``method`` for shares ``lam`` (float ``(N,)`` in [0,
    1]): float32 ``(N, 1, H, W)`` on the device of ``lam``.

    Checks its arguments, ``lam``'s values included (a host sync on CUDA:
    the training path calls the method's ``sample`` and ``render``).
    """
    from ..checks import check_size
    spec = get_method(method)
    if not isinstance(lam, torch.Tensor) or lam.dim() != 1 \
            or not lam.is_floating_point():
        raise TypeError('lam must be a 1-D float tensor of shares in [0, 1], '
                        f'got {lam!r:.80}')
    if bool(((lam < 0) | (lam > 1) | lam.isnan()).any()):
        raise ValueError('lam must hold shares in [0, 1], got values in '
                         f'[{lam.min().item()}, {lam.max().item()}]')
    size = check_size('size', size)
    return spec.render(spec.sample(lam, size, generator, **kwargs),
                       size).expand(lam.shape[0], 1, *size)

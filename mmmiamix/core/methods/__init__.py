"""The mask methods, one object each, by family (see :mod:`.registry`):
``mixup`` (constant), ``cutmix`` and ``gridmix`` (boxes), ``fmix``
(noise), ``gmix`` and ``agmix`` (gaussian); ``smoothmix`` (a Gaussian blob
of its own, no family: it uses the public method API only)."""
from .boxes import CUTMIX, GRIDMIX
from .fmix import FMIX
from .gaussian import AGMIX, GMIX
from .mixup import MIXUP
from .registry import (
    MASK_METHODS,
    Arg,
    Family,
    MaskMethod,
    Params,
    Size,
    get_method,
    make_mask,
    register_mask_method,
)
from .smoothmix import SMOOTHMIX

for _method in (MIXUP, CUTMIX, FMIX, GRIDMIX, GMIX, AGMIX, SMOOTHMIX):
    register_mask_method(_method)

__all__ = ['MASK_METHODS', 'Arg', 'Family', 'MaskMethod', 'Params', 'Size',
           'get_method', 'make_mask', 'register_mask_method']


def mixup_mask(lam, size, generator=None):
    """Mixup cut mask: constant ``lam``; ``(N, 1, H, W)``."""
    return make_mask('mixup', lam, size, generator)


def cutmix_mask(lam, size, generator=None):
    """CutMix cut mask: one binary box of area ``lam``; ``(N, 1, H, W)``."""
    return make_mask('cutmix', lam, size, generator)


def fmix_mask(lam, size, generator=None, **kwargs):
    """FMix cut mask: thresholded low-frequency noise; ``(N, 1, H, W)``."""
    return make_mask('fmix', lam, size, generator, **kwargs)


def gridmix_mask(lam, size, generator=None, **kwargs):
    """GridMix cut mask: a grid of holes; ``(N, 1, H, W)``."""
    return make_mask('gridmix', lam, size, generator, **kwargs)


def gmix_mask(lam, size, generator=None):
    """GMix cut mask: an isotropic Gaussian blob of the smaller share;
    ``(N, 1, H, W)``."""
    return make_mask('gmix', lam, size, generator)


def agmix_mask(lam, size, generator=None, **kwargs):
    """AGMix cut mask: a rotated anisotropic Gaussian blob of the smaller
    share; ``(N, 1, H, W)``."""
    return make_mask('agmix', lam, size, generator, **kwargs)


def smoothmix_mask(lam, size, generator=None, **kwargs):
    """SmoothMix cut mask: a Gaussian blob (sigma 0.25-0.5 of the side)
    whose peak is solved for the smaller share; ``(N, 1, H, W)``."""
    return make_mask('smoothmix', lam, size, generator, **kwargs)


__all__ += ['agmix_mask', 'cutmix_mask', 'fmix_mask', 'gmix_mask',
            'gridmix_mask', 'mixup_mask', 'smoothmix_mask']

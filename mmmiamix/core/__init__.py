"""The plain-PyTorch core of mmmiamix: mask generators, mask augmentation
and the MiAMix sampler. Imports nothing from OpenMMLab."""
from .mask_augment import box_filter, default_smooth_windows
from .masks import (MASK_METHODS, agmix_mask, cutmix_mask, fmix_mask,
                    gmix_mask, gridmix_mask, make_mask, mixup_mask)
from .miamix import DEFAULT_METHODS, MiAMix
from .mixing import (AGMix, FMix, GMix, GridMix, MaskMix, SaliencyMix,
                     blend)
from .saliency import salient_points, spectral_residual_saliency
from .sampling import sample_beta, sample_dirichlet, sample_layer_ratios
from .second_view import ViewConfig

__all__ = [
    'MASK_METHODS', 'DEFAULT_METHODS', 'MiAMix', 'MaskMix', 'AGMix', 'FMix',
    'GMix', 'GridMix', 'SaliencyMix', 'ViewConfig', 'agmix_mask', 'blend',
    'box_filter', 'cutmix_mask', 'default_smooth_windows', 'fmix_mask', 'gmix_mask',
    'gridmix_mask', 'make_mask', 'mixup_mask', 'sample_beta',
    'sample_dirichlet', 'sample_layer_ratios', 'salient_points',
    'spectral_residual_saliency'
]

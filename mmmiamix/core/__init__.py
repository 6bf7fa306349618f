"""The plain-PyTorch core of mmmiamix: mask generators, mask augmentation
and the MiAMix sampler. Imports nothing from OpenMMLab."""
from .augments import AGMix, FMix, GMix, GridMix, MaskMix, SaliencyMix
from .blend import blend, blend_images, gather_partners, mix_scores
from .front import MixAugment
from .mask_augment import (box_filter, default_smooth_windows, smooth_masks,
                           smoothing_kernels)
from .masks import (MASK_METHODS, agmix_mask, cutmix_mask, fmix_mask,
                    gmix_mask, gridmix_mask, make_mask, mixup_mask)
from .miamix import DEFAULT_METHODS, MiAMix, MiAMixDraws
from .saliency import salient_points, spectral_residual_saliency
from .sampling import sample_beta, sample_dirichlet, sample_layer_ratios
from .second_view import ViewConfig

__all__ = [
    'MASK_METHODS', 'DEFAULT_METHODS', 'MiAMix', 'MiAMixDraws', 'MixAugment',
    'MaskMix', 'AGMix', 'FMix', 'GMix', 'GridMix', 'SaliencyMix',
    'ViewConfig', 'agmix_mask', 'blend', 'blend_images', 'box_filter',
    'cutmix_mask', 'default_smooth_windows', 'fmix_mask', 'gather_partners',
    'gmix_mask', 'gridmix_mask', 'make_mask', 'mix_scores', 'mixup_mask',
    'sample_beta', 'sample_dirichlet', 'sample_layer_ratios',
    'salient_points', 'smooth_masks', 'smoothing_kernels',
    'spectral_residual_saliency'
]

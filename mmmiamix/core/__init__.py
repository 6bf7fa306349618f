"""The plain-PyTorch core of mmmiamix: mask methods (and their registry),
mask augmentation and the MiAMix sampler. Imports nothing from OpenMMLab."""
from .attention import (
    attention_share,
    attention_targets,
    attention_weight,
    pool_keep,
)
from .augments import (
    AGMix,
    FMix,
    GMix,
    GridMix,
    MaskMix,
    SaliencyMix,
    SmoothMix,
)
from .blend import blend, blend_images, gather_partners, mix_scores
from .class_attention import class_token_attention, split_qkv
from .draws import MiAMixDraws
from .front import MixAugment, MixRecord
from .mask_augment import (
                           box_filter,
                           default_smooth_windows,
                           smooth_masks,
                           smoothing_kernels,
)
from .methods import (
                           MASK_METHODS,
                           Arg,
                           Family,
                           MaskMethod,
                           agmix_mask,
                           cutmix_mask,
                           fmix_mask,
                           get_method,
                           gmix_mask,
                           gridmix_mask,
                           make_mask,
                           mixup_mask,
                           register_mask_method,
                           smoothmix_mask,
)
from .miamix import DEFAULT_METHODS, MiAMix
from .resizemix import ResizeMix
from .saliency import salient_points, spectral_residual_saliency
from .sampling import sample_beta, sample_dirichlet
from .second_view import ViewConfig

__all__ = [
    'MASK_METHODS', 'DEFAULT_METHODS', 'MiAMix', 'MiAMixDraws', 'MixAugment',
    'MixRecord', 'attention_share', 'attention_targets', 'attention_weight',
    'class_token_attention', 'pool_keep', 'split_qkv',
    'MaskMix', 'AGMix', 'FMix', 'GMix', 'GridMix', 'ResizeMix',
    'SaliencyMix', 'SmoothMix',
    'ViewConfig', 'Arg', 'Family', 'MaskMethod', 'agmix_mask', 'blend',
    'blend_images', 'box_filter', 'cutmix_mask', 'default_smooth_windows',
    'fmix_mask', 'gather_partners', 'get_method', 'gmix_mask',
    'gridmix_mask', 'make_mask', 'mix_scores', 'mixup_mask',
    'register_mask_method', 'sample_beta', 'sample_dirichlet',
    'salient_points', 'smooth_masks', 'smoothing_kernels', 'smoothmix_mask',
    'spectral_residual_saliency'
]

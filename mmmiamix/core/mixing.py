"""Former home of the blend helpers and the single-method augments, kept so
that old imports still work: see :mod:`.blend` and :mod:`.augments`."""
from .augments import AGMix, FMix, GMix, GridMix, MaskMix, SaliencyMix
from .blend import blend, gather_partners, mix_scores

__all__ = ['AGMix', 'FMix', 'GMix', 'GridMix', 'MaskMix', 'SaliencyMix',
           'blend', 'gather_partners', 'mix_scores']

"""The single-method augments: FMix, GridMix, GMix, AGMix, SmoothMix and
SaliencyMix, each per sample.

Each sample ``i`` draws ``lam_i ~ Beta(alpha, alpha)``, the partner share of
its cut mask, and is mixed with ``x[perm[i]]`` (a random permutation); its
label weight is the real mean of the keep mask ``1 - M``. With ``B = 1`` the
sample mixes with itself and comes back unchanged.
"""
import torch

from . import host
from .blend import blend, gather_partners
from .checks import check_alpha
from .front import MixAugment
from .methods import Params, get_method
from .saliency import salient_points
from .sampling import Generator, sample_beta


class MaskMix(MixAugment):
    """Per-sample mixing with one registered mask method: ``method`` (a
    name, see :func:`~.methods.register_mask_method`) with its arguments
    ``**method_kwargs``; the subclasses fix the method.

    Call as ``mixed, scores = aug(inputs, targets)``: ``inputs`` float ``(B,
    C, H, W)``, ``targets`` ``(B, num_classes)`` one-hot or soft scores or,
    with ``num_classes``, class indices ``(B,)``; returns the mixed inputs
    (same dtype and device) and float32 scores. ``num_classes``,
    ``label_smoothing``, ``prob`` and ``check_values``: see
    :class:`~mmmiamix.core.front.MixAugment`.
    """

    method: str = ''

    def __init__(self, alpha: float = 1.0, num_classes=None,
                 label_smoothing: float = 0.0, prob: float = 1.0,
                 check_values: bool = False, method: str = None,
                 **method_kwargs):
        super().__init__(num_classes, label_smoothing, prob, check_values)
        self.alpha = check_alpha('alpha', alpha)
        if method is not None:
            if type(self).method and method != type(self).method:
                raise TypeError(f'{type(self).__name__} mixes with '
                                f'{type(self).method!r}; got method='
                                f'{method!r} (use MaskMix)')
            self.method = method
        self.method_kwargs = self.spec.check_args(method_kwargs)

    @property
    def spec(self):
        """The registered :class:`~.methods.MaskMethod` mixed with."""
        return get_method(self.method)

    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> Params:
        """All draws of one call: ``lam`` (float ``(B,)``, the partner's
        share), ``perm`` (long ``(B,)``) and the mask's parameters."""
        lam = sample_beta(batch_size, self.alpha, device, generator)
        perm = torch.randperm(batch_size, device=device, generator=generator)
        params = self.spec.sample(lam, tuple(size), generator,
                                  **self.method_kwargs)
        params['perm'] = perm
        return params

    def place(self, params: Params, inputs: torch.Tensor) -> Params:
        """Adjust the draws to the images (SaliencyMix); as drawn here."""
        return params

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor, *,
            generator: Generator = None, record: dict = None):
        """Draw, render and blend; ``record`` (a dict): filled with
        ``keep``, ``partner`` and ``weight`` (see
        :class:`~.front.MixRecord`)."""
        size = tuple(inputs.shape[-2:])
        params = self.sample(inputs.shape[0], size, inputs.device, generator)
        params = self.place(params, inputs)
        keep = 1 - self.spec.render(params, size)
        perm = params['perm']
        mixed, mixed_scores, weight = blend(
            inputs, gather_partners(inputs, perm), keep, scores, perm,
            inplace=True, sync_free=not host.host_reads_free(inputs.device),
            sources=(inputs, ))
        if record is not None:
            record.update(keep=keep, partner=perm, weight=weight)
        return mixed, mixed_scores

    def __repr__(self):
        args = ''.join(f', {k}={v!r}' for k, v in self.method_kwargs.items())
        return f'{type(self).__name__}(alpha={self.alpha}{args})'


class FMix(MaskMix):
    """FMix (Harris et al., 2020): masks from thresholded low-frequency noise.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        decay_power (float): the spectrum's amplitude decays as
            ``1 / f**decay_power``. Default 3.0.
        max_soft (float): largest soft-edge width as a share of the pixels,
            in [0, 0.5]. Default 0.0 (binary masks).
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).

    Under ``torch.compile`` on the CPU the call runs eagerly inside the
    graph (:attr:`traced_on_cpu` False): compiled, FMix's exact threshold
    is no faster there.
    """
    method = 'fmix'
    traced_on_cpu = False


class GridMix(MaskMix):
    """GridMix (Baek et al., 2021): a grid of holes, with OpenMixup's ranges.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        n_holes (tuple[int]): range of holes per side, inclusive. Default
            (2, 6).
        hole_aspect_ratio (float): width / height of a hole. Default 1.0.
        cut_area_ratio (tuple): range of the gridded region's area share.
            Default (0.5, 1.0).
        cut_aspect_ratio (tuple): range of the region's width / height.
            Default (0.5, 2.0).
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).
    """
    method = 'gridmix'


class GMix(MaskMix):
    """GMix (Park et al., 2022): an isotropic Gaussian mask whose untruncated
    integral is the smaller share ``min(lam, 1 - lam) * H * W``, inverted for
    the larger share (docs/design.md, "The mask methods").

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).
    """
    method = 'gmix'


class AGMix(MaskMix):
    """AGMix (Liang et al., 2023, §3.1): GMix with a random covariance
    ``[[1, q], [q, 1]]`` and a random rotation.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        q_range (tuple): range of the off-diagonal ``q``, within [-1, 1].
            Default (-1.0, 1.0).
        angle_range (tuple): range of the rotation in degrees. Default
            (-180.0, 180.0).
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).
    """
    method = 'agmix'


class SmoothMix(MaskMix):
    """SmoothMix (Lee et al., CVPR-W 2020): a Gaussian blob of spread
    ``sigma`` between 0.25 and 0.5 of the side (OpenMixup's range) at a
    random centre, per sample. The blob carries the smaller share
    ``min(lam, 1 - lam)``, its peak solved so that the mask's mean is the
    share drawn (flat-topped at 1 when the share needs it); the label takes
    the real mean of the mask, so each image's label weight is its pixel
    weight (OpenMixup's SmoothMix gives the base label the partner's mean).

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        sigma_range (tuple): range of ``sigma`` as a share of the side (of
            ``H`` for rows, ``W`` for columns), ``0 < min <= max``. Default
            (0.25, 0.5).
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).
    """
    method = 'smoothmix'


class SaliencyMix(MaskMix):
    """SaliencyMix (Uddin et al., ICLR 2021): a CutMix box of ``lam`` of the
    pixels centred on the most salient point of the partner (source) image
    (spectral-residual saliency, :mod:`.saliency`), pasted at the same place
    in the base image ("salient to corresponding"); the box is clipped at
    the borders and the label takes its real area.

    Args:
        alpha (float): ``lam ~ Beta(alpha, alpha)`` per sample. Default 1.0.
        **kwargs: ``num_classes``, ``label_smoothing``, ``prob``,
            ``check_values`` (see :class:`MaskMix`).
    """
    method = 'cutmix'

    def place(self, params: Params, inputs: torch.Tensor) -> Params:
        centre = salient_points(inputs).index_select(0, params['perm'])
        params['corner'] = torch.round(centre - params['extent'] / 2)
        return params

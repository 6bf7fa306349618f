"""Spectral-residual saliency (Hou & Zhang, CVPR 2007), batched in torch,
for SaliencyMix (Uddin et al., ICLR 2021).

The saliency of a grey image ``I`` with spectrum ``F = A exp(iP)`` is
``g * |F^-1[exp(R + iP)]|^2`` with the spectral residual ``R = log A - h *
log A`` (``h`` a 3x3 average filter) and ``g`` a Gaussian blur; it is
computed at a side of at most 64 pixels, as in the original method.
"""
import torch
import torch.nn.functional as F

from .mask_augment import box_filter

#: Saliency is computed with the longer side reduced to at most this.
SALIENCY_SIDE = 64
#: Window of the final smoothing of the saliency map (at most 64 pixels).
SMOOTH_WINDOW = 5


def spectral_residual_saliency(images: torch.Tensor) -> torch.Tensor:
    """Saliency maps of ``images`` (float ``(N, C, H, W)``): float32 ``(N, 1,
    h, w)`` >= 0 with ``max(h, w) <= SALIENCY_SIDE``, same aspect."""
    grey = images.float().mean(1, keepdim=True)
    h, w = grey.shape[-2:]
    scale = min(1.0, SALIENCY_SIDE / max(h, w))
    if scale < 1:
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        grey = F.interpolate(grey, size=size, mode='area')
    spectrum = torch.fft.fft2(grey)
    log_amp = torch.log(spectrum.abs().clamp_min(1e-8))
    residual = log_amp - box_filter(log_amp, 3)
    phase = torch.angle(spectrum)
    back = torch.fft.ifft2(torch.polar(torch.exp(residual), phase))
    return box_filter(back.abs().square(), SMOOTH_WINDOW)


def salient_points(images: torch.Tensor) -> torch.Tensor:
    """Most salient pixel of each image, in pixel coordinates of the
    images: float32 ``(N, 2)`` as ``(y, x)`` pixel centres."""
    sal = spectral_residual_saliency(images)
    n, _, h, w = sal.shape
    flat = sal.view(n, h * w).argmax(1)
    ys = (flat // w).float() + 0.5
    xs = (flat % w).float() + 0.5
    big_h, big_w = images.shape[-2:]
    return torch.stack([ys * big_h / h, xs * big_w / w], 1)

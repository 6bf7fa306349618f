"""scikit-learn's handwritten digits as a small, download-free image dataset.

The 1,797 8x8 grey images of ``sklearn.datasets.load_digits`` (values 0..16,
10 classes, shipped inside scikit-learn) are upscaled bilinearly to 32x32,
scaled to 0..255 and repeated over 3 channels, so the usual mmpretrain
pipelines (``RandomCrop(32, padding=4)``, ``PackInputs``) apply unchanged.
It is the embedded default of the quick start (``configs/quickstart``).
"""
from typing import List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

#: share of every class held out for the test split
TEST_FRACTION = 0.2
#: seed of the fixed split (numpy's legacy RandomState: stable across versions)
SPLIT_SEED = 0


def _upscale(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upscaling of ``(N, 8, 8)`` floats to ``(N, size, size)``
    (half-pixel centres, edges clamped), in numpy."""
    n, h, w = images.shape

    def axis(src, dst):
        pos = (np.arange(dst) + 0.5) * src / dst - 0.5
        pos = np.clip(pos, 0, src - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, src - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    ylo, yhi, wy = axis(h, size)
    xlo, xhi, wx = axis(w, size)
    rows = (images[:, ylo, :] * (1 - wy)[None, :, None] +
            images[:, yhi, :] * wy[None, :, None])
    return rows[:, :, xlo] * (1 - wx) + rows[:, :, xhi] * wx


def digits_split(labels: np.ndarray, test_fraction: float = TEST_FRACTION,
                 seed: int = SPLIT_SEED):
    """The fixed, stratified split: ``(train_indices, test_indices)``, each
    sorted. Per class, a seeded permutation puts ``round(test_fraction * n)``
    images into the test split."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@DATASETS.register_module()
class Digits(BaseDataset):
    """scikit-learn's handwritten digits, 32x32 RGB, fixed train/test split.

    1,797 images, 10 classes ``'0'..'9'``: 1,438 train and 359 test images
    (20 % of every class, fixed by a seeded stratified split). Each data info
    holds ``img`` (``(32, 32, 3)`` uint8, white digit on black), ``gt_label``
    (int) and ``digit_idx`` (index into ``load_digits``). Nothing is
    downloaded: the images ship inside scikit-learn.

    Args:
        split (str): ``'train'`` or ``'test'``. Default ``'train'``.
        img_size (int): side of the upscaled images. Default 32.
        pipeline, indices, test_mode, lazy_init, ...: as in mmpretrain's
            ``BaseDataset`` (e.g. ``indices=200`` keeps the first 200).
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}

    def __init__(self,
                 split: str = 'train',
                 img_size: int = 32,
                 metainfo: Optional[dict] = None,
                 pipeline: Sequence = (),
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 test_mode: Optional[bool] = None,
                 lazy_init: bool = False,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if int(img_size) < 8:
            raise ValueError(f'img_size must be >= 8, got {img_size!r}')
        self.split = split
        self.img_size = int(img_size)
        if test_mode is None:
            test_mode = split == 'test'
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            pipeline=pipeline,
            indices=indices,
            test_mode=test_mode,
            lazy_init=lazy_init,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        from sklearn.datasets import load_digits
        digits = load_digits()
        labels = np.asarray(digits.target, dtype=np.int64)
        train, test = digits_split(labels)
        chosen = train if self.split == 'train' else test
        grey = digits.images[chosen].astype(np.float32) * (255.0 / 16.0)
        grey = _upscale(grey, self.img_size)
        grey = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
        return [
            dict(img=np.ascontiguousarray(np.repeat(g[:, :, None], 3, 2)),
                 gt_label=int(labels[i]), digit_idx=int(i))
            for g, i in zip(grey, chosen)
        ]

    def extra_repr(self) -> List[str]:
        return [f'Split: \t{self.split}', f'Image size: \t{self.img_size}',
                'Source: \tsklearn.datasets.load_digits']

"""CIFAR-10-C and CIFAR-100-C (Hendrycks & Dietterich, 2019).

Expected layout (the official archives, https://zenodo.org/record/2535967
for CIFAR-10-C and https://zenodo.org/record/3555552 for CIFAR-100-C)::

    CIFAR-100-C/
    ├── labels.npy              # (50000,) integer labels
    ├── gaussian_noise.npy      # (50000, 32, 32, 3) uint8
    ├── ...                     # one file per corruption
    └── saturate.npy

Rows ``[(s - 1) * 10000, s * 10000)`` of each corruption file hold severity
``s`` (1..5) of the 10,000 test images, in the order of the clean test set.
The files are memory-mapped, never loaded whole, and never downloaded.
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import (
    CIFAR10_CATEGORIES,
    CIFAR100_CATEGORIES,
)
from mmpretrain.registry import DATASETS

#: The 19 corruptions of the official CIFAR-10-C / CIFAR-100-C release
#: (15 benchmark corruptions + 4 extra "validation" ones).
CIFAR_C_CORRUPTIONS = (
    'gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur',
    'glass_blur', 'motion_blur', 'zoom_blur', 'snow', 'frost', 'fog',
    'brightness', 'contrast', 'elastic_transform', 'pixelate',
    'jpeg_compression', 'speckle_noise', 'gaussian_blur', 'spatter',
    'saturate')
#: The 15 benchmark corruptions (mean corruption accuracy is reported on
#: these) and the 4 extra ones, in the release's order.
BENCHMARK_CORRUPTIONS = CIFAR_C_CORRUPTIONS[:15]
EXTRA_CORRUPTIONS = CIFAR_C_CORRUPTIONS[15:]

IMAGES_PER_SEVERITY = 10000
NUM_SEVERITIES = 5


class _CIFARC(BaseDataset):
    """Shared implementation of CIFAR-10-C and CIFAR-100-C.

    Args:
        data_root (str): Folder holding ``<corruption>.npy`` and
            ``labels.npy``.
        corruptions (str | Sequence[str], optional): Corruptions to read.
            None means all 19 standard ones (:data:`CIFAR_C_CORRUPTIONS`).
        severities (int | Sequence[int]): Severities in 1..5.
            Defaults to (1, 2, 3, 4, 5).
        pipeline (Sequence): Processing pipeline; items carry the image as
            an ``img`` array (32, 32, 3) uint8 in RGB order like mmpretrain's
            ``CIFAR10``, so no ``LoadImageFromFile`` is needed.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.

    Every item carries ``gt_label``, ``corruption`` (str), ``severity``
    (int), ``row`` (row in the .npy file) and ``image_idx`` (index of the
    image in the clean test set), so an evaluation
    can average accuracy per corruption and severity.
    """

    DATASET_NAME = 'CIFAR-C'
    URL = ''
    METAINFO = {'classes': ()}

    def __init__(self,
                 data_root: str,
                 corruptions: Union[str, Sequence[str], None] = None,
                 severities: Union[int, Sequence[int]] = (1, 2, 3, 4, 5),
                 pipeline: Sequence = (),
                 test_mode: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if corruptions is None:
            corruptions = CIFAR_C_CORRUPTIONS
        elif isinstance(corruptions, str):
            corruptions = (corruptions, )
        if isinstance(severities, int):
            severities = (severities, )
        corruptions = tuple(corruptions)
        severities = tuple(int(s) for s in severities)
        if not corruptions:
            raise ValueError(f'{self.DATASET_NAME}: no corruption selected')
        bad = [s for s in severities if not 1 <= s <= NUM_SEVERITIES]
        if bad or not severities:
            raise ValueError(f'{self.DATASET_NAME}: severities must be in '
                             f'1..{NUM_SEVERITIES}, got {severities}')
        self.corruptions = corruptions
        self.severities = severities
        self._arrays = {}
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix='',
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs)

    # -- files -----------------------------------------------------------
    def _missing(self, path: str) -> FileNotFoundError:
        return FileNotFoundError(
            f'{self.DATASET_NAME}: file not found: {path!r}. Expected '
            f'<data_root>/labels.npy and one <corruption>.npy per corruption '
            f'(shape (50000, 32, 32, 3), uint8, 5 severities x 10000 '
            f'images) as in the official archive {self.URL} '
            f'(see docs/datasets.md).')

    def _open(self, corruption: str) -> np.ndarray:
        arr = self._arrays.get(corruption)
        if arr is None:
            path = osp.join(self.data_root, f'{corruption}.npy')
            if not osp.isfile(path):
                raise self._missing(path)
            arr = np.load(path, mmap_mode='r')
            self._arrays[corruption] = arr
        return arr

    def __getstate__(self):
        # Memory maps are reopened in each worker instead of being pickled.
        state = self.__dict__.copy()
        state['_arrays'] = {}
        return state

    # -- BaseDataset API ---------------------------------------------------
    def load_data_list(self) -> List[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise self._missing(root)
        label_path = osp.join(root, 'labels.npy')
        if not osp.isfile(label_path):
            raise self._missing(label_path)
        labels = np.load(label_path, mmap_mode='r')
        if labels.ndim != 1:
            raise ValueError(f'{self.DATASET_NAME}: {label_path!r} has shape '
                             f'{labels.shape}, expected (N,)')
        n_rows = labels.shape[0]
        if n_rows % NUM_SEVERITIES:
            raise ValueError(
                f'{self.DATASET_NAME}: {label_path!r} has {n_rows} labels, '
                f'not a multiple of {NUM_SEVERITIES} severities')
        per_sev = n_rows // NUM_SEVERITIES
        labels = np.asarray(labels, dtype=np.int64)
        num_classes = len(self.metainfo['classes'])
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'{self.DATASET_NAME}: labels in {label_path!r} '
                             f'must lie in [0, {num_classes})')

        data_list = []
        for corruption in self.corruptions:
            arr = self._open(corruption)
            path = osp.join(root, f'{corruption}.npy')
            if (arr.ndim != 4 or arr.shape[0] != n_rows
                    or arr.shape[1:] != (32, 32, 3)):
                raise ValueError(
                    f'{self.DATASET_NAME}: {path!r} has shape {arr.shape}, '
                    f'expected ({n_rows}, 32, 32, 3) = {NUM_SEVERITIES} '
                    f'severities x {per_sev} images, matching labels.npy')
            if arr.dtype != np.uint8:
                raise ValueError(f'{self.DATASET_NAME}: {path!r} has dtype '
                                 f'{arr.dtype}, expected uint8')
            for severity in self.severities:
                start = (severity - 1) * per_sev
                for i in range(per_sev):
                    row = start + i
                    data_list.append(
                        dict(
                            gt_label=int(labels[row]),
                            corruption=corruption,
                            severity=severity,
                            row=row,
                            image_idx=i))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        img = np.asarray(self._open(info['corruption'])[info['row']])
        # RGB, like mmpretrain's CIFAR10/CIFAR100 items (their configs use
        # ``to_rgb=False`` with RGB mean/std), so CIFAR models apply as is.
        info['img'] = np.array(img)
        info['img_shape'] = img.shape[:2]
        info['ori_shape'] = img.shape[:2]
        return info

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}',
            f'Corruptions: \t{", ".join(self.corruptions)}',
            f'Severities: \t{self.severities}'
        ]


@DATASETS.register_module()
class CIFAR10C(_CIFARC):
    """CIFAR-10-C: CIFAR-10 test set under 19 corruptions x 5 severities."""
    DATASET_NAME = 'CIFAR-10-C'
    URL = 'https://zenodo.org/record/2535967'
    METAINFO = {'classes': CIFAR10_CATEGORIES}


@DATASETS.register_module()
class CIFAR100C(_CIFARC):
    """CIFAR-100-C: CIFAR-100 test set under 19 corruptions x 5 severities."""
    DATASET_NAME = 'CIFAR-100-C'
    URL = 'https://zenodo.org/record/3555552'
    METAINFO = {'classes': CIFAR100_CATEGORIES}

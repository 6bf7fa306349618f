"""mmmiamix: MiAMix and AGMix for mmpretrain (and plain PyTorch)."""
from setuptools import find_packages, setup

with open('README.md', encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mmmiamix',
    version='0.1.0',
    description='MiAMix (Multi-stage Augmented Mixup) and AGMix: batched, '
    'per-sample mixing augmentations for mmpretrain and plain PyTorch',
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmmiamix', 'mmmiamix.*']),
    python_requires='>=3.9',
    # The core needs torch alone; the mmpretrain layer needs the OpenMMLab
    # stack. `mmcv` is never listed: pip would build full mmcv from source.
    # `mmcv-lite` (pure Python) is what mmpretrain needs; CUDA users may
    # install full mmcv instead (see README).
    install_requires=['torch>=2.0', 'numpy'],
    extras_require={
        'mm': [
            'torchvision', 'mmengine>=0.10.7,<0.11', 'mmpretrain>=1.2.0,<1.3',
            'mmcv-lite>=2.0.0rc4,<2.3'
        ],
        'demo': ['scikit-learn', 'matplotlib'],
        # optional frameworks (docs/frameworks.md); none changes torch
        'timm': ['timm>=1.0'],
        'lightning': ['lightning>=2.0'],
        # tools/make_corrupted.py: the corruptions of CIFAR-10-C/ImageNet-C
        # (the maintained fork of imagecorruptions; numpy 2, scikit-image)
        'robustness': ['imagecorruptions-imaug'],
        'tests': ['pytest', 'scikit-learn', 'matplotlib', 'timm>=1.0',
                  'lightning>=2.0', 'imagecorruptions-imaug'],
    },
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)

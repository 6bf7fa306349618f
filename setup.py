"""mmmiamix: MiAMix and AGMix for mmpretrain (and plain PyTorch)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))

with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()


def requirements(name):
    """The requirements listed in ``requirements/<name>.txt`` itself
    (comments and ``-r`` includes left out)."""
    path = osp.join(HERE, 'requirements', f'{name}.txt')
    with open(path, encoding='utf-8') as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line and not line.startswith('-')]


def optional(project):
    """The line of ``requirements/optional.txt`` that names ``project``."""
    found = [r for r in requirements('optional') if r.startswith(project)]
    if len(found) != 1:
        raise ValueError(f'requirements/optional.txt names {project!r} '
                         f'{len(found)} times, expected once')
    return found


# The mmpretrain layer, as ranges (requirements/runtime.txt pins the checked
# versions). `mmcv` is never listed: pip would build full mmcv from source.
# `mmcv-lite` (pure Python) is what mmpretrain needs; CUDA users may install
# full mmcv instead (see README).
MM = ['torchvision', 'mmengine>=0.10.7,<0.11', 'mmpretrain>=1.2.0,<1.3',
      'mmcv-lite>=2.0.0rc4,<2.3']
DEMO = ['scikit-learn', 'matplotlib']
EXTRAS = {
    'mm': MM,
    'demo': DEMO,
    # optional frameworks (docs/frameworks.md); none changes torch
    'timm': optional('timm'),
    'lightning': optional('lightning'),
    # tools/sweep.py on local processes or Slurm job arrays
    'sweep': optional('submitit'),
    # tools/make_corrupted.py: the corruptions of CIFAR-10-C/ImageNet-C
    'corruptions': optional('imagecorruptions'),
}
EXTRAS['robustness'] = EXTRAS['corruptions']  # the name tools print
EXTRAS['tests'] = MM + DEMO + requirements('optional') + requirements('tests')
EXTRAS['all'] = sorted({r for extra in EXTRAS.values() for r in extra})

setup(
    name='mmmiamix',
    version='0.1.0',
    description='MiAMix (Multi-stage Augmented Mixup) and AGMix: batched, '
    'per-sample mixing augmentations for mmpretrain and plain PyTorch',
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmmiamix', 'mmmiamix.*']),
    python_requires='>=3.9',
    # The core needs torch alone; the extras add the rest.
    install_requires=['torch>=2.0', 'numpy'],
    extras_require=EXTRAS,
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)

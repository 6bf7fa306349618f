"""mmmiamix: MiAMix (Multi-stage Augmented Mixup) and AGMix.

``mmmiamix.core`` is plain PyTorch and serves any training loop. Importing
``mmmiamix`` with mmpretrain installed also registers the OpenMMLab layer:
batch augments (``MiAMix``, ``AGMix``, ``GMix``, ``FMix``, ``GridMix``), the
two-view data preprocessor, backbones, datasets and hooks (the resume
hooks live in ``mmmiamix.resume``).
"""
import importlib.util

from .core import *  # noqa: F401,F403
from .core import __all__ as _core_all

__version__ = '0.1.0'
__all__ = list(_core_all) + ['__version__']

if importlib.util.find_spec('mmpretrain') is not None:
    # registers the mm layer's modules, the resume hooks among them
    from . import datasets, engine, models, resume  # noqa: F401
    from .resume import hooks, setup_torch_load_compat  # noqa: F401

    # The one thing `import mmmiamix` installs: configs load the plugin via
    # custom_imports before the Runner loads a checkpoint, so installing the
    # narrow torch.load allow-list here lets mmpretrain's stock
    # tools/test.py, --resume and load_from work on torch >= 2.6.
    setup_torch_load_compat()

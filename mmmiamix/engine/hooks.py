"""Training hooks registered in ``mmpretrain.registry.HOOKS``."""
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def data_preprocessor(runner):
    """The data preprocessor of the runner's model (unwrapped from DDP), or
    None."""
    model = runner.model
    if is_model_wrapper(model):
        model = model.module
    return getattr(model, 'data_preprocessor', None)


@HOOKS.register_module()
class MixedBatchVisualizationHook(Hook):
    """Save the first training batch of every ``interval``-th epoch (and of
    the first epoch), as the model sees it (after the batch augment), as a
    PNG grid.

    The picture goes to ``<work_dir>/<out_dir>/epoch_<n>.png`` (``n`` counts
    from 1, like the checkpoints); each tile is titled with its two largest
    label weights, e.g. ``3:0.62 7:0.38``. The batch is caught by a forward
    hook on the model's data preprocessor (its output: normalised, mixed
    inputs and the mixed ``gt_score``), de-normalised with the
    preprocessor's ``mean`` / ``std``. Only the main process writes.

    Config::

        custom_hooks = [dict(type='MixedBatchVisualizationHook', interval=1)]

    Args:
        interval (int): every ``interval``-th epoch. Default 1.
        max_images (int): at most this many images per picture. Default 16.
        first (bool): also save the first epoch's batch. Default True.
        out_dir (str): folder, relative to the work directory (or absolute).
            Default ``'mixed_batches'``.
        bgr (bool): the inputs are BGR (shown reversed); leave False for
            RGB or grey inputs, or when the preprocessor has ``to_rgb=True``.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1, max_images: int = 16,
                 out_dir: str = 'mixed_batches', bgr: bool = False,
                 first: bool = True):
        if int(interval) < 1:
            raise ValueError(f'interval must be >= 1, got {interval!r}')
        if int(max_images) < 1:
            raise ValueError(f'max_images must be >= 1, got {max_images!r}')
        self.interval = int(interval)
        self.max_images = int(max_images)
        self.out_dir = out_dir
        self.bgr = bool(bgr)
        self.first = bool(first)
        self._handle = None
        self._captured: Optional[dict] = None
        #: path of the last picture written (None before the first)
        self.last_path: Optional[str] = None

    # ------------------------------------------------------------ helpers
    _preprocessor = staticmethod(data_preprocessor)

    def _capture(self, module, args, output):
        if self._captured is not None or not module.training:
            return
        if not isinstance(output, dict) or 'inputs' not in output:
            return
        inputs = output['inputs']
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            return
        n = min(self.max_images, inputs.shape[0])
        samples = output.get('data_samples') or []
        scores = None
        if samples and all('gt_score' in s for s in samples[:n]):
            scores = torch.stack([s.gt_score for s in samples[:n]])
        elif samples and all('gt_label' in s for s in samples[:n]):
            num_classes = getattr(module, 'num_classes', None)
            labels = torch.cat([s.gt_label.view(-1)[:1] for s in samples[:n]])
            num_classes = num_classes or int(labels.max()) + 1
            scores = torch.nn.functional.one_hot(labels.long(), num_classes)
        self._captured = dict(
            inputs=inputs[:n].detach().float().cpu(),
            scores=None if scores is None else scores.detach().float().cpu())

    def _remove(self):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @staticmethod
    def _stats(pre):
        """The preprocessor's per-channel mean and std, or (None, None)."""
        if pre is None or not getattr(pre, '_enable_normalize', False):
            return None, None
        mean = getattr(pre, 'mean', None)
        std = getattr(pre, 'std', None)
        if mean is None or std is None:
            return None, None
        return (mean.detach().float().cpu().view(-1).tolist(),
                std.detach().float().cpu().view(-1).tolist())

    @staticmethod
    def _classes(runner):
        try:
            return runner.train_dataloader.dataset.metainfo.get('classes')
        except Exception:
            return None

    # ------------------------------------------------------------ hooks
    def before_train_epoch(self, runner) -> None:
        self._remove()
        self._captured = None
        wanted = self.every_n_epochs(runner, self.interval) or (
            self.first and runner.epoch == 0)
        if not is_main_process() or not wanted:
            return
        pre = self._preprocessor(runner)
        if isinstance(pre, torch.nn.Module):
            self._handle = pre.register_forward_hook(self._capture)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._handle is None:
            return
        if self._captured is None:
            return  # not seen yet (e.g. gradient accumulation); keep hooked
        self._remove()
        self.save(runner, runner.epoch + 1)

    def after_train_epoch(self, runner) -> None:
        self._remove()

    def after_run(self, runner) -> None:
        self._remove()

    def save(self, runner, epoch: int) -> Optional[str]:
        """Write the captured batch for ``epoch``; returns the path."""
        captured, self._captured = self._captured, None
        if captured is None:
            return None
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            runner.logger.warning(
                'MixedBatchVisualizationHook needs matplotlib '
                '(pip install matplotlib); no pictures are written.')
            self.interval, self.first = 10**9, False
            return None
        from ..visualization import save_batch_grid
        mean, std = self._stats(self._preprocessor(runner))
        folder = self.out_dir if osp.isabs(self.out_dir) else osp.join(
            runner.work_dir, self.out_dir)
        path = osp.join(folder, f'epoch_{epoch}.png')
        save_batch_grid(
            captured['inputs'], path, scores=captured['scores'],
            max_images=self.max_images, mean=mean, std=std, bgr=self.bgr,
            classes=self._classes(runner),
            title=f'epoch {epoch}: first training batch (top-2 label '
            'weights)')
        self.last_path = path
        runner.logger.info(f'Mixed batch of epoch {epoch} saved to {path}')
        return path

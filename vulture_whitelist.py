"""Names that ``vulture mmmiamix tools vulture_whitelist.py
--min-confidence 80`` would report as unused, each kept for the reason
beside it (vulture reads this file; nothing imports it)."""

# mmengine calls hooks by keyword with its signature, e.g.
# Hook.after_train_iter(runner, batch_idx, data_batch, outputs): the hooks in
# mmmiamix/engine keep the parameters they do not read.
batch_idx  # noqa: F821,B018
data_batch  # noqa: F821,B018

# Lightning calls a callback's on_*(trainer, pl_module, ...) by keyword
# (mmmiamix/integrations/lightning.py).
pl_module  # noqa: F821,B018

# torch calls TorchDispatchMode.__torch_dispatch__(func, types, args, kwargs)
# (mmmiamix/utils/profiling.py).
types  # noqa: F821,B018

# Python calls a signal handler as handler(signum, frame)
# (tools/sweep.py's SIGTERM handler).
frame  # noqa: F821,B018

# Runtime shared by every experiment config of mmmiamix.
# Registries default to mmpretrain's; `custom_imports` registers this
# project's batch augments (MiAMix, AGMix, GMix, FMix, GridMix), the
# TwoViewClsDataPreprocessor, the ResNeXt_CIFAR backbone and the datasets.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keep the last 3 checkpoints (for --resume) and the best top-1 one.
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=3,
        save_best='accuracy/top1',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

# Exact and safe --resume (mmmiamix/resume/hooks.py, docs/faults.md):
# RandomStateHook saves every rank's torch/CUDA/numpy/Python random state in
# each epoch checkpoint and restores it on resume; SafeCheckpointHook writes
# checkpoints atomically with a SHA-256 (<ckpt>.sha256), checks them on load
# and lets `--resume` (auto) fall back to the newest intact checkpoint.
# A config that sets its own `custom_hooks` replaces this list: keep these
# two in it (tools/train.py adds them when they are missing).
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='SafeCheckpointHook'),
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/dist_train.sh switches to gloo on machines without CUDA.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False

# diff_rank_seed=True: with several ranks every rank must draw different
# mixing masks, ratios and partners (mmengine seeds rank r with seed + r).
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)

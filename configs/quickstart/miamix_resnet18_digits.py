# Quick start: MiAMix training of a small ResNet-18 on scikit-learn's
# embedded handwritten digits (Digits: 1,797 images upscaled to 32x32, no
# download). Self-contained (no _base_); a few minutes on 2 CPU cores.
# vanilla_resnet18_digits.py is the same training without mixing.
#
#   python tools/demo.py                  # train, test, print the results
#   python tools/train.py configs/quickstart/miamix_resnet18_digits.py
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

max_epochs = 30

# ---------------------------------------------------------------- model
# ResNet-18 with the CIFAR stem (3x3 conv, no max-pool) at a quarter of the
# usual width (16-32-64-128 channels) and stride 2 in every stage (feature
# maps 16, 8, 4, 2: the digits hold 8x8 pixels of information): 0.7 M
# parameters, about 10 MFLOPs per image, fast enough for 2 CPU cores.
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=10,
    # Digits (train split statistics): white strokes on black, grey
    # repeated over 3 channels.
    mean=[78.0, 78.0, 78.0],
    std=[82.6, 82.6, 82.6],
    to_rgb=False,
    # MiAMix (paper Table 2 defaults) mixes every training batch in the
    # data preprocessor and turns the labels into soft scores.
    batch_augments=dict(augments=dict(
        type='MiAMix',
        alpha=2.0,
        k_max=2,
        methods=['mixup', 'cutmix', 'fmix', 'gridmix', 'agmix'],
        method_weights=[2, 1, 1, 1, 1],
        p_self=0.1,
        p_aug=0.25,
        p_smooth=0.5,
        mask_merge='mul',
        lam_merge='merged')))
model = dict(
    type='ImageClassifier',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        strides=(2, 2, 2, 2),
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        # soft cross-entropy: mixed batches carry soft label scores
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True),
        topk=(1, )))

# ---------------------------------------------------------------- data
# Digits must not be flipped: a shifted crop is the only augmentation.
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,  # the pipeline is trivial
    persistent_workers=False,
    dataset=dict(type='Digits', split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,  # the pipeline is trivial
    persistent_workers=False,
    dataset=dict(type='Digits', split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.0,
         by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
custom_hooks = [
    # <work_dir>/mixed_batches/epoch_<n>.png: the first training batch of
    # epoch 1 and of every 10th epoch, as the model sees it (mixed).
    dict(type='MixedBatchVisualizationHook', interval=10, max_images=16),
    # exact and safe --resume, as in configs/_base_/default_runtime.py
    # (docs/faults.md)
    dict(type='RandomStateHook'),
    dict(type='SafeCheckpointHook'),
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
work_dir = './work_dirs/quickstart/miamix_resnet18_digits'

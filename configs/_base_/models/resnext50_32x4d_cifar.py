# ResNeXt-50 (32x4d) with the CIFAR stem (3x3 conv stride 1, no max-pool):
# mmmiamix's ResNeXt_CIFAR (mmpretrain has no CIFAR variant of ResNeXt).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNeXt_CIFAR',
        depth=50,
        groups=32,
        width_per_group=4,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

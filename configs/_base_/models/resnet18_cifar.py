# ResNet-18 with the CIFAR stem (3x3 conv stride 1, no max-pool):
# mmpretrain's ResNet_CIFAR. num_classes is set by each experiment config.
# The head's loss is the hard-label one; mixed configs switch to
# CrossEntropyLoss(use_soft=True) because batch augments emit soft scores.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

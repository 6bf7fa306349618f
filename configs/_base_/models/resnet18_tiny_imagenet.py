# ResNet-18 for Tiny-ImageNet at 64x64 with the CIFAR-style stem (3x3 conv
# stride 1, no max-pool), as in OpenMixup's Tiny-ImageNet benchmark whose
# numbers the paper's Table 3 compares with: the final feature map is 8x8.
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
        num_classes=200,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

# DeiT-S (ViT-S/16) at 224x224, trained from scratch on CIFAR-100 upsampled
# to 224 (paper §4.2). Follows OpenMixup's CIFAR-100 DeiT-S benchmark, whose
# numbers are the paper's Table 4 baselines (its
# configs/classification/cifar100/mixups/vits/
# deit_s_mixups_sz224_bs100_randaug.py): drop path 0.1; label smoothing
# 0.1 ("original": (1 - 0.1) * y + 0.1 / 100) for every method, mixed or
# not; truncated-normal (std 0.02) Linear and unit LayerNorm
# initialisation. mmpretrain's LabelSmoothLoss
# smooths index labels and the mixed soft scores alike, so the mixed DeiT-S
# configs keep this loss (OpenMixup smooths each of the two one-hot targets
# of a mixed sample, which gives the same target).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=100,
        in_channels=384,
        loss=dict(
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0),
        topk=(1, 5),
    ),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])

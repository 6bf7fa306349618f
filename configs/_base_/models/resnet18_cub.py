# ResNet-18 (ImageNet stem) initialised from mmpretrain's ImageNet-1k
# checkpoint for transfer to CUB-200 at 224x224 (paper §4.3, Table 5).
#
# The backbone weights are fetched from the public address below on first
# use. On a machine without internet, download the file elsewhere and point
# the config at the local copy, e.g.
#   python tools/train.py CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet18.pth
# (or copy it into ~/.cache/torch/hub/checkpoints/, where mmengine looks
# for URLs first). See docs/datasets.md.
pretrained_resnet18_in1k = (
    'https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet18_8xb32_in1k_20210831-fbbb1da6.pth')
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained_resnet18_in1k,
            prefix='backbone')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=200,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

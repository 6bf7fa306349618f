# CIFAR-100 upsampled to 224x224 for DeiT-S (paper §4.2, Table 4).
# The paper's DeiT-S baselines are OpenMixup's CIFAR-100 benchmark, which
# trains DeiT-S from scratch on CIFAR images resized to 224x224 with patch
# size 16 (14x14 tokens); we follow that: random crop (pad 4) and flip at
# 32x32, then a bicubic upsampling to 224x224. Batch 100; otherwise as
# cifar100_bs100.py.
_base_ = ['./cifar100_bs100.py']
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

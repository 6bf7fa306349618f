# CUB-200 at 224, ResNet-18 pretrained on ImageNet-1k, 200 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 5.
_base_ = ['./resnet18_vanilla.py', '../_base_/miamix/miamix_cnn.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The MiAMix arguments are those of ../_base_/miamix/miamix_cnn.py.
# alpha=0.5: paper §4.5.6 / Figure 3(d): for transfer learning a
# conservative alpha "nearing 2^-1" is best.
# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(_base_.miamix_augment, alpha=0.5)))

# Two views (§3.2.1). Data-loading cost of the second view on CPU workers:
# 1.3x the baseline's (29.1 against 22.6 CPU ms per batch of
# 32; the JPEG is decoded once);
# tools/benchmark_dataloader.py, docs/reproduce.md ("The second view").
train_dataloader = dict(dataset=dict(pipeline=[
    _base_.train_dataloader.dataset.pipeline[0],  # LoadImageFromFile, once
    dict(
        type='MultiView',
        num_views=2,
        transforms=[_base_.train_dataloader.dataset.pipeline[1:-1]]),
    dict(type='PackInputs'),
]))
# Same normalisation as the baseline; only the class changes.
data_preprocessor = dict(type='TwoViewClsDataPreprocessor')

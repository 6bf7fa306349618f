# CIFAR-100, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# MiAMix (multi-stage augmented mixup). Paper Tables 3 and 6.
_base_ = ['./resnext50_vanilla.py', '../_base_/miamix/miamix_cnn.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# MiAMix in the data preprocessor, soft cross-entropy, two views: see
# ../_base_/miamix/miamix_cnn.py.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=_base_.miamix_augment))

# Two views (§3.2.1). Data-loading cost of the second view on CPU workers:
# 2.0x the baseline's (8.0 against 4.0 CPU ms per batch of 100);
# tools/benchmark_dataloader.py, docs/reproduce.md ("The second view").
train_dataloader = dict(dataset=dict(pipeline=[
    dict(
        type='MultiView',
        num_views=2,
        transforms=[_base_.train_dataloader.dataset.pipeline[:-1]]),
    dict(type='PackInputs'),
]))
# Same normalisation as the baseline; only the class changes.
data_preprocessor = dict(type='TwoViewClsDataPreprocessor')

# CIFAR-10, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 3.
_base_ = ['./resnext50_vanilla.py', '../_base_/miamix/miamix_cnn.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The MiAMix arguments are those of ../_base_/miamix/miamix_cnn.py.
# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=_base_.miamix_augment))

# The paper's two-view path (§3.2.1, DESIGN §4): the baseline's own
# training transforms (those of ./resnext50_vanilla.py,
# taken from it here, so the two cannot drift apart) run twice on every
# image, drawing independent random augmentations; the
# TwoViewClsDataPreprocessor normalises both views and MiAMix takes every
# partner, self-mixing included, from the second view. Only the first view
# reaches the model. Data-loading cost of the second view on CPU workers:
# 2.0x the baseline's (8.0 against 4.0 CPU ms per batch of 100,
# measured with the same transforms on CIFAR-100);
# tools/benchmark_dataloader.py, docs/reproduce.md ("The second view").
train_dataloader = dict(dataset=dict(pipeline=[
    dict(
        type='MultiView',
        num_views=2,
        transforms=[_base_.train_dataloader.dataset.pipeline[:-1]]),
    dict(type='PackInputs'),
]))
# Same normalisation as the baseline (mmengine merges this dict into the
# dataset's data_preprocessor); only the class changes.
data_preprocessor = dict(type='TwoViewClsDataPreprocessor')

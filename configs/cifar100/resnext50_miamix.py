# CIFAR-100, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# MiAMix (multi-stage augmented mixup). Paper Tables 3 and 6.
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

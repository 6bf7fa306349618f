# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 4.
_base_ = ['./deit_s_vanilla.py', '../_base_/miamix/miamix_deit_s.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The MiAMix arguments are those of ../_base_/miamix/miamix_deit_s.py.
# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=_base_.miamix_augment))

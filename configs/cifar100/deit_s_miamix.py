# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 4.
_base_ = ['./deit_s_vanilla.py', '../_base_/miamix/miamix_deit_s.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The MiAMix arguments are those of ../_base_/miamix/miamix_deit_s.py.
# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores. The
# loss stays the base's LabelSmoothLoss (0.1, as in OpenMixup's DeiT-S
# recipe), which takes the mixed soft scores as they are.
model = dict(
    train_cfg=dict(augments=_base_.miamix_augment))

# Two views (§3.2.1). Data-loading cost of the second view on CPU workers:
# 1.9x the baseline's (193 against 100 CPU ms per batch of 100:
# RandAugment at 224x224 twice per image);
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

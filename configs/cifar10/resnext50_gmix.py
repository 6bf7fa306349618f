# CIFAR-10, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# GMix. Paper Table 3.
_base_ = ['./resnext50_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=1.0 (lambda ~ U(0, 1)): OpenMixup, the source of the paper's
# other baselines, has no GMix or AGMix, and the paper gives no alpha.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='GMix', alpha=1.0)))

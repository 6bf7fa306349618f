# CIFAR-100, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# MiAMix (multi-stage augmented mixup). Paper Tables 3 and 6.
_base_ = ['./resnext50_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=2.0, not the 1.0 written in §4.1: Table 2 gives 2 as the
# default and §4.5.6 / Figure 3 find alpha=2 best for CNNs on
# CIFAR-100 and Tiny-ImageNet (§4.1's "alpha = 1" contradicts both).
# W=[2, 1, 1, 1, 1] over [mixup, cutmix, fmix, gridmix, agmix] (§4.1).
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='MiAMix',
        alpha=2.0,
        k_max=2,
        layer_weights=[1, 1],  # k in {1, 2} uniform (Table 8 best)
        methods=['mixup', 'cutmix', 'fmix', 'gridmix', 'agmix'],
        method_weights=[2, 1, 1, 1, 1],
        p_self=0.1,
        p_aug=0.25,
        p_smooth=0.5,
        mask_merge='mul',
        lam_merge='merged')))

# CUB-200 at 224, ResNet-18 pretrained on ImageNet-1k, 200 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 5.
_base_ = ['./resnet18_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=0.5: paper §4.5.6 / Figure 3(d): for transfer learning a
# conservative alpha "nearing 2^-1" is best.
# W=[2, 1, 1, 1, 1] over [mixup, cutmix, fmix, gridmix, agmix] (§4.1).
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='MiAMix',
        alpha=0.5,
        k_max=2,
        layer_weights=[1, 1],  # k in {1, 2} uniform (Table 8 best)
        methods=['mixup', 'cutmix', 'fmix', 'gridmix', 'agmix'],
        method_weights=[2, 1, 1, 1, 1],
        p_self=0.1,
        p_aug=0.25,
        p_smooth=0.5,
        mask_merge='mul',
        lam_merge='merged')))

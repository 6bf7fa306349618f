# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# MiAMix (multi-stage augmented mixup). Paper Table 4.
_base_ = ['./deit_s_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=2.0: Table 2 default. §4.5.6 says ViTs prefer a larger
# alpha (Figure 3(c)) but the figure's values are not given in
# the text; sweep alpha with --cfg-options to tune it.
# W=[1, 3, 0, 1, 1] for DeiT-S (§4.7): CutMix up, MixUp down,
# FMix off.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='MiAMix',
        alpha=2.0,
        k_max=2,
        layer_weights=[1, 1],  # k in {1, 2} uniform (Table 8 best)
        methods=['mixup', 'cutmix', 'fmix', 'gridmix', 'agmix'],
        method_weights=[1, 3, 0, 1, 1],
        p_self=0.1,
        p_aug=0.25,
        p_smooth=0.5,
        mask_merge='mul',
        lam_merge='merged')))

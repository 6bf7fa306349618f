# Ablation, paper Table 9: cutmix removed, weights [1, 0, 1, 1, 1].
# method_weights over [mixup, cutmix, fmix, gridmix, agmix].
_base_ = ['../tiny_imagenet/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            method_weights=[1, 0, 1, 1, 1],
        )))

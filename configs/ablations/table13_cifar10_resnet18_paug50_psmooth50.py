# Ablation, paper Table 13: p_aug=0.5, p_smooth=0.5.
_base_ = ['../cifar10/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            p_aug=0.5,
            p_smooth=0.5,
        )))

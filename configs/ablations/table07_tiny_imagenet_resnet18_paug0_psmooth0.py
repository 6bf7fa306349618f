# Ablation, paper Table 7: mask augmentation: no mask augmentation.
_base_ = ['../tiny_imagenet/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            p_aug=0.0,
            p_smooth=0.0,
        )))

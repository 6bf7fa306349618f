# Ablation, paper Table 10: mask_merge=sum, lam_merge=merged.
_base_ = ['../tiny_imagenet/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            mask_merge='sum',
            lam_merge='merged',
        )))

# Ablation, paper Figure 3(d): CUB-200, ResNet-18 transfer;
# MiAMix with alpha=1.0.
# The figure's alpha values are not given in the text; these four
# (0.5, 1, 2, 4) bracket the ones §4.5.6 names (2 for CNNs, larger for
# ViTs, near 0.5 for transfer).
_base_ = ['../cub200/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only this MiAMix argument differs from the base config.
model = dict(train_cfg=dict(augments=dict(type='MiAMix', alpha=1.0)))

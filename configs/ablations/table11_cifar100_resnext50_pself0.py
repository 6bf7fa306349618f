# Ablation, paper Table 11: self-mixing ratio 0%.
# Corruption accuracy: see configs/robustness/ and
# tools/test_robustness.py (CIFAR-100-C).
_base_ = ['../cifar100/resnext50_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            p_self=0.0,
        )))

# Ablation, paper Table 8: always 2 mask layer(s).
# layer_weights[j] is the sampling weight of k = j + 1 mask layers;
# a one-hot vector fixes k.
_base_ = ['../tiny_imagenet/resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
# Only these MiAMix arguments differ from the base config.
model = dict(
    train_cfg=dict(
        augments=dict(
            type='MiAMix',
            k_max=2,
            layer_weights=[0, 1],
        )))

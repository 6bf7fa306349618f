# CUB-200 at 224, ResNet-18 pretrained on ImageNet-1k, 200 epochs.
# GridMix. Paper Table 5.
_base_ = ['./resnet18_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=1.0 (lambda ~ U(0, 1)): OpenMixup's CUB-200 benchmark has no
# GridMix (nor has the paper's Table 5), and the paper gives no alpha.
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='GridMix',
        alpha=1.0,
        n_holes=(2, 6),
        hole_aspect_ratio=1.0,
        cut_area_ratio=(0.5, 1.0),
        cut_aspect_ratio=(0.5, 2.0))))

# CIFAR-10, ResNet-18 (CIFAR stem), 400 epochs.
# SmoothMix (Lee et al., CVPR-W 2020), per sample, label weight = pixel
# weight. Not in the paper; OpenMixup's benchmark: 95.88.
_base_ = ['./resnet18_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# alpha=0.5: OpenMixup's table gives this method alpha=0.5 in
# this setting, but its SmoothMix draws no share (the blob's own mean is
# the share); here lam ~ Beta(alpha, alpha) is the share the blob delivers
# (docs/paper_vs_code.md, "ResizeMix and SmoothMix").
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='SmoothMix', alpha=0.5, sigma_range=(0.25, 0.5))))

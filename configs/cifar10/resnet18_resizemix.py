# CIFAR-10, ResNet-18 (CIFAR stem), 400 epochs.
# ResizeMix (Qin et al., 2020), per sample: this project's
# PerSampleResizeMix (mmpretrain's own `ResizeMix` draws one box per
# batch). Not in the paper; OpenMixup's benchmark: 96.91.
_base_ = ['./resnet18_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores; the
# mixed (soft) scores need the soft cross-entropy.
# OpenMixup's benchmark config: scope=(0.1, 0.8), use_alpha=True with its
# table's alpha=1.0, nearest resampling; at alpha=1 the side share tau is
# U(0.1, 0.8) (docs/paper_vs_code.md, "ResizeMix and SmoothMix").
model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(
        type='PerSampleResizeMix', alpha=1.0, scope=(0.1, 0.8),
        use_alpha=True, interpolation='nearest')))

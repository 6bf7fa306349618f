# CIFAR-100, ResNet-18 (CIFAR stem), 400 epochs: MiAMix on the one-view
# (drop-in `batch_augments`) path, for comparison with the two-view
# ./resnet18_miamix.py of Table 3 (the paper's §3.2.1 says two views
# "yielded measurable improvement" but gives no number).
# One augmented view per image (the baseline pipeline, ./resnet18_vanilla.py);
# partners are other samples' same augmented tensors, and a self-mixed
# sample's second view is made on the device by MiAMix (flip, zoom down to
# 0.6, reflect-padded shift; docs/design.md). Same MiAMix arguments.
_base_ = ['./resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
data_preprocessor = dict(type='ClsDataPreprocessor')

# CIFAR-100, ResNet-18 (CIFAR stem), 400 epochs.
# MiAMix on the paper-faithful two-view path (DESIGN §4, paper §3.2.1):
# the pipeline draws two independent random augmentations of every image
# (MultiView, num_views=2); TwoViewClsDataPreprocessor normalises both and
# MiAMix takes every partner, self-mixing included, from the second view.
# Same hyper-parameters as ./resnet18_miamix.py (one-view path, where the
# second view is made on the device).
_base_ = ['./resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

view_transforms = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_transforms]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# Same normalisation as the base; only the preprocessor class changes. Set
# on the model too, so that code building cfg.model alone gets it as well.
# ImageClassifier hands model.train_cfg (the MiAMix of the base config) to
# this preprocessor as its `batch_augments`.
data_preprocessor = dict(type='TwoViewClsDataPreprocessor')
model = dict(
    data_preprocessor=dict(
        _base_.data_preprocessor, type='TwoViewClsDataPreprocessor'))

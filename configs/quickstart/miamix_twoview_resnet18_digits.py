# Quick start, paper-faithful two-view path: the pipeline makes
# two independently augmented views of every digit (MultiView, num_views=2)
# and TwoViewClsDataPreprocessor hands both to MiAMix, which takes every
# partner (self-mixing included) from the second view. Otherwise the same
# as miamix_resnet18_digits.py (one-view path: the second view is made on
# the device).
#
#   python tools/demo.py \
#       --config configs/quickstart/miamix_twoview_resnet18_digits.py
_base_ = ['./miamix_resnet18_digits.py']

view_transforms = [dict(type='RandomCrop', crop_size=32, padding=4)]
train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_transforms]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(data_preprocessor=dict(type='TwoViewClsDataPreprocessor'))
work_dir = './work_dirs/quickstart/miamix_twoview_resnet18_digits'

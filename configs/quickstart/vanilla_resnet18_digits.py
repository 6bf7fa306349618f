# Quick start, baseline: miamix_resnet18_digits.py without mixing (same
# model, data, schedule and seed), for comparison.
#
#   python tools/demo.py --config configs/quickstart/vanilla_resnet18_digits.py
_base_ = ['./miamix_resnet18_digits.py']

model = dict(
    data_preprocessor=dict(batch_augments=None),
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0,
                        use_soft=False)))
# the hook then shows plain (unmixed) training batches
work_dir = './work_dirs/quickstart/vanilla_resnet18_digits'

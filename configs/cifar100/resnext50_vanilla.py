# CIFAR-100, ResNeXt-50 32x4d (CIFAR stem), 400 epochs.
# Vanilla (no mixing). Paper Tables 3 and 6.
_base_ = [
    '../_base_/models/resnext50_32x4d_cifar.py',
    '../_base_/datasets/cifar100_bs100.py',
    '../_base_/schedules/sgd_cosine_400e.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
model = dict(head=dict(num_classes=100))

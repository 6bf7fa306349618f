# CIFAR-100, 32x32, batch 100 (paper §4.1): CIFAR-10's pipeline and loaders
# with mmpretrain's CIFAR100, which reads the official python archive under
# data/cifar100 (see docs/datasets.md).
_base_ = ['./cifar10_bs100.py']
dataset_type = 'CIFAR100'
data_preprocessor = dict(
    num_classes=100,
    # RGB statistics; mmpretrain's CIFAR images are already RGB.
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418])
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root='data/cifar100'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root='data/cifar100'))
test_dataloader = val_dataloader

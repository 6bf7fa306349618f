# Tiny-ImageNet 64x64, ResNet-18 (CIFAR stem), 400 epochs.
# Vanilla (no mixing). Paper Table 3.
_base_ = [
    '../_base_/models/resnet18_tiny_imagenet.py',
    '../_base_/datasets/tiny_imagenet_bs100.py',
    '../_base_/schedules/sgd_cosine_400e.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
model = dict(head=dict(num_classes=200))

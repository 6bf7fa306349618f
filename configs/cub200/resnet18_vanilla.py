# CUB-200 at 224, ResNet-18 pretrained on ImageNet-1k, 200 epochs.
# Vanilla (no mixing). Paper Table 5.
# The ImageNet-1k checkpoint is downloaded on first use; offline, pass
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet18.pth
_base_ = [
    '../_base_/models/resnet18_cub.py',
    '../_base_/datasets/cub200_bs32.py',
    '../_base_/schedules/sgd_cosine_200e_cub.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
model = dict(head=dict(num_classes=200))

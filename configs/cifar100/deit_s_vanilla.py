# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# Vanilla (no mixing). Paper Table 4.
_base_ = [
    '../_base_/models/deit_small_p16_224.py',
    '../_base_/datasets/cifar100_bs100_224.py',
    '../_base_/schedules/adamw_warmup_cosine_200e.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
model = dict(head=dict(num_classes=100))

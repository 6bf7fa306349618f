# Robustness on CIFAR-10-C (the CIFAR-10 counterpart of the paper's Table 6,
# which reports CIFAR-100-C): the model of
#   configs/cifar10/resnext50_cutmix.py
# tested on the 19 corruptions x 5 severities of CIFAR-10-C.
# Train with the base config (or this one: training is
# identical), then e.g.
#   python tools/test.py \
#       configs/robustness/cifar10c_resnext50_cutmix.py CKPT
# for the overall corrupted accuracy, or
#   python tools/test_robustness.py --dataset CIFAR10C \
#       configs/robustness/cifar10c_resnext50_cutmix.py CKPT
# for the per-corruption / per-severity breakdown.
_base_ = [
    '../cifar10/resnext50_cutmix.py',
    '../_base_/datasets/cifar10_c.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
test_dataloader = dict(_delete_=True, **_base_.corruption_test_dataloader)
test_evaluator = dict(_delete_=True, **_base_.corruption_test_evaluator)

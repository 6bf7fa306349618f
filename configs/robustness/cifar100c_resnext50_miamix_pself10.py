# Robustness, paper Table 11: the model of
#   configs/ablations/table11_cifar100_resnext50_pself10.py
# tested on the 19 corruptions x 5 severities of CIFAR-100-C.
# Train with the base config (or this one: training is
# identical), then e.g.
#   python tools/test.py \
#       configs/robustness/cifar100c_resnext50_miamix_pself10.py CKPT
# for the overall corrupted accuracy, or tools/test_robustness.py for
# the per-corruption / per-severity breakdown.
_base_ = [
    '../ablations/table11_cifar100_resnext50_pself10.py',
    '../_base_/datasets/cifar100_c.py',
]
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)
test_dataloader = dict(_delete_=True, **_base_.corruption_test_dataloader)
test_evaluator = dict(_delete_=True, **_base_.corruption_test_evaluator)

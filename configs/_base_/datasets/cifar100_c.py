# CIFAR-100-C for the robustness evaluation (paper §4.4, Tables 6 and 11):
# the 19 corruptions x 5 severities of the CIFAR-100 test set, read by
# mmmiamix's CIFAR100C from data/CIFAR-100-C (<corruption>.npy + labels.npy).
# Everything else as in cifar10_c.py (keys prefixed `corruption_`).
_base_ = ['./cifar10_c.py']
corruption_test_dataloader = dict(
    dataset=dict(type='CIFAR100C', data_root='data/CIFAR-100-C'))

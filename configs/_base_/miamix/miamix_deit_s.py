# The MiAMix arguments of the DeiT-S configs (paper Table 4): Table 2
# (./miamix_cnn.py) except the method weights.
# W=[1, 3, 0, 1, 1] over [mixup, cutmix, fmix, gridmix, agmix] (§4.7):
# CutMix up, MixUp down, FMix off for the transformer.
# alpha=2.0: Table 2 default. §4.5.6 says ViTs prefer a larger alpha
# (Figure 3(c)) but gives no value in the text; the Figure 3 sweep is
# configs/ablations/figure03_cifar100_deit_s_alpha*.py.
_base_ = ['./miamix_cnn.py']
miamix_augment = dict(method_weights=[1, 3, 0, 1, 1])

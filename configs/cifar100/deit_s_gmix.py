# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# GMix. Paper Table 4.
_base_ = ['./deit_s_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The batch augment runs in the data preprocessor: in mmpretrain 1.2
# ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
# `batch_augments`, which also turns labels into one-hot scores. The
# loss stays the base's LabelSmoothLoss (0.1, as in OpenMixup's DeiT-S
# recipe), which takes the mixed soft scores as they are.
# alpha=1.0 (lambda ~ U(0, 1)): OpenMixup, the source of the paper's
# other baselines, has no GMix or AGMix, and the paper gives no alpha.
model = dict(
    train_cfg=dict(augments=dict(type='GMix', alpha=1.0)))

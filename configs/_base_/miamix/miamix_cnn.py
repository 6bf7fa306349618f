# The MiAMix arguments shared by every CNN config of the paper (ResNet-18,
# ResNeXt-50; CIFAR-10/100, Tiny-ImageNet, CUB-200): the paper's Table 2.
# A method config uses it as
#   _base_ = ['./resnet18_vanilla.py', '../_base_/miamix/miamix_cnn.py']
#   model = dict(..., train_cfg=dict(augments=_base_.miamix_augment))
# and changes single arguments with dict(_base_.miamix_augment, alpha=...)
# (CUB-200) or, in a config that inherits it, with
#   model = dict(train_cfg=dict(augments=dict(p_self=0.05)))
# (mmengine merges dicts key by key). The key `miamix_augment` stays in
# the resolved config; nothing reads it but these method configs.
#
# What every MiAMix method config adds to its baseline (it cannot live here:
# each refers to its own baseline's pipeline):
# - the batch augment runs in the data preprocessor: in mmpretrain 1.2
#   ImageClassifier passes model.train_cfg to ClsDataPreprocessor as
#   `batch_augments`, which also turns labels into one-hot scores; the mixed
#   (soft) scores need the soft cross-entropy;
# - the two-view path (paper §3.2.1, docs/design.md): the baseline's own
#   training transforms, taken from it so the two cannot drift apart, run
#   twice on every image under MultiView(num_views=2), drawing independent
#   augmentations; TwoViewClsDataPreprocessor normalises both views (the
#   baseline's mean and std: mmengine merges the dict into the dataset's
#   data_preprocessor) and MiAMix takes every partner, self-mixing
#   included, from the second view. Only the first view reaches the model.
#
# alpha=2.0, not the 1.0 written in §4.1: Table 2 gives 2 as the default
# and §4.5.6 / Figure 3 find alpha=2 best for CNNs on CIFAR-100 and
# Tiny-ImageNet (§4.1's "alpha = 1" contradicts both).
# W=[2, 1, 1, 1, 1] over [mixup, cutmix, fmix, gridmix, agmix] (§4.1, §4.7).
miamix_augment = dict(
    type='MiAMix',
    alpha=2.0,
    k_max=2,
    layer_weights=[1, 1],  # k in {1, 2} uniform (Table 8 best)
    methods=['mixup', 'cutmix', 'fmix', 'gridmix', 'agmix'],
    method_weights=[2, 1, 1, 1, 1],
    p_self=0.1,
    p_aug=0.25,
    p_smooth=0.5,
    mask_merge='mul',
    lam_merge='merged')

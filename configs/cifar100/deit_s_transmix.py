# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# TransMix (Chen et al., CVPR 2022): DeiT's batch augment, mmpretrain's
# Mixup (alpha 0.8) or CutMix (alpha 1.0), one of the two per batch with
# equal odds (timm's switch_prob 0.5), and attention-weighted labels: the
# base image's label weight becomes 0.5 * area + 0.5 * the share of the
# class token's attention (last layer, mean over heads) on the patches it
# keeps (mixup batches keep their weight). Not a row of the paper's Table 4;
# OpenMixup's CIFAR-100 DeiT-S table has it (docs/reproduce.md, "DeiT-S
# anchors").
_base_ = ['./deit_s_vanilla.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# AttentionMixClassifier is ImageClassifier plus the relabelling in the
# training loss (validation, testing and checkpoints are ImageClassifier's);
# it makes the data preprocessor record each mixing. The loss stays the
# base's LabelSmoothLoss (0.1), which smooths the relabelled scores once.
model = dict(
    type='AttentionMixClassifier',
    ratio=0.5,
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

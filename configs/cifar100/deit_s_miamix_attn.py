# CIFAR-100 upsampled to 224, DeiT-S/16 from scratch, 200 epochs.
# MiAMix with the paper's DeiT-S arguments (Table 4; two views, as
# ./deit_s_miamix.py) and attention-weighted labels (TransMix's rule for
# any keep mask): the base image's label weight becomes 0.5 * its pixel
# share + 0.5 * the share of the class token's attention (last layer, mean
# over heads) on the patches it keeps. Not in the paper.
_base_ = ['./deit_s_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

# The only change to ./deit_s_miamix.py: the classifier. Its two-view data
# preprocessor records each mixing for the loss; validation, testing and
# checkpoints are ImageClassifier's.
model = dict(type='AttentionMixClassifier', ratio=0.5)

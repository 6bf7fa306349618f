# DeiT-S on CIFAR-100 (paper §4.2): 200 epochs, batch 100, AdamW "with
# learning rate warm-up and decay"; the paper gives no numbers. These are
# those of OpenMixup's CIFAR-100 DeiT-S benchmark, whose numbers the paper's
# Table 4 reports as its baselines (its
# configs/classification/cifar100/mixups/vits/
# deit_s_mixups_sz224_bs100_randaug.py):
# - AdamW, lr 1e-3 at batch 100, weight decay 0.05, eps 1e-8,
#   betas (0.9, 0.999); no weight decay on norms, biases, cls_token and
#   pos_embed; gradient clipping at norm 5;
# - the learning rate follows one cosine from 1e-3 at iteration 0 to 1e-6
#   at the last iteration, updated every iteration, and for the first 20
#   epochs it is also multiplied by a linear warm-up factor from 1e-5 to 1
#   (mmcv's warm-up, which scales the cosine's value). Below, the two
#   mmengine schedulers overlap over epochs 0-20 to give that product;
#   simulated against mmcv's formula they agree to 0.1% at every
#   iteration.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW',
        lr=1e-3,
        weight_decay=0.05,
        eps=1e-8,
        betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-5,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=200,
        eta_min=1e-6,
        by_epoch=True,
        begin=0,
        end=200,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=100)

# DeiT-S on CIFAR-100 (paper §4.2): 200 epochs, batch 100, AdamW with a
# linear warm-up then cosine decay. The paper gives no lr or weight decay.
# We use lr 1e-3, weight decay 0.05, 5 warm-up epochs, cosine down to 1e-5:
# weight decay 0.05 is DeiT's; lr 1e-3 at batch 100 is the from-scratch
# CIFAR setting of OpenMixup's DeiT-S benchmark, whose baselines the paper
# reports. DeiT's linear rule (5e-4 x 100 / 512 ~ 1e-4) is tuned for
# ImageNet's 1.28M images and under-trains a 200-epoch run on 50k images.
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
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=195,
        eta_min=1e-5,
        by_epoch=True,
        begin=5,
        end=200),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=100)

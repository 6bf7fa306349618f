# CIFAR-10/100 and Tiny-ImageNet (paper §4.1): 400 epochs, batch 100,
# SGD lr 0.1, momentum 0.9, weight decay 5e-4, cosine annealing per epoch.
# These are the numbers §4.1 states. The baselines of Table 3 are
# OpenMixup's benchmark numbers, trained with weight decay 1e-4 (CIFAR:
# lr 0.1; Tiny-ImageNet: lr 0.2), per-epoch cosine to 0, 400 epochs,
# batch 100. To train a baseline exactly as OpenMixup did, add e.g.
#   --cfg-options optim_wrapper.optimizer.weight_decay=1e-4
# (and optim_wrapper.optimizer.lr=0.2 for Tiny-ImageNet).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=400,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=400)
]
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for a total batch of 100; use --auto-scale-lr to rescale it.
auto_scale_lr = dict(base_batch_size=100)

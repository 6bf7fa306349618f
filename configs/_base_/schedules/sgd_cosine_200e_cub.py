# CUB-200 transfer (paper §4.3): 200 epochs, batch 32, SGD lr 1e-3,
# momentum 0.9. The paper gives neither weight decay nor decay policy; we
# keep the CIFAR ones (weight decay 5e-4, cosine annealing per epoch).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=200,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=200)
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

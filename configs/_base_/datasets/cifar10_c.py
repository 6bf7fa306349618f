# CIFAR-10-C for the robustness evaluation:
# the 19 corruptions x 5 severities of the CIFAR-10 test set, read by
# mmmiamix's CIFAR10C from data/CIFAR-10-C (<corruption>.npy + labels.npy).
# Images are RGB like mmpretrain's CIFAR10, so a CIFAR-10 model's
# data_preprocessor applies unchanged. Keys are prefixed `corruption_` so
# this file can sit in a `_base_` list next to a training config; the
# configs in configs/robustness/ copy them into test_dataloader.
corruption_test_pipeline = [
    dict(
        type='PackInputs',
        # keep the corruption and severity of every sample in its metainfo
        meta_keys=('sample_idx', 'corruption', 'severity', 'img_shape',
                   'ori_shape')),
]
corruption_test_dataloader = dict(
    batch_size=500,
    num_workers=4,
    dataset=dict(
        type='CIFAR10C',
        data_root='data/CIFAR-10-C',
        # None: all 19 corruptions, in the order of the official release
        # (mmmiamix.datasets.cifar_c.CIFAR_C_CORRUPTIONS, their one list)
        corruptions=None,
        severities=[1, 2, 3, 4, 5],
        pipeline=corruption_test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
corruption_test_evaluator = dict(type='Accuracy', topk=(1, ))

# CIFAR-100, ResNet-18 (CIFAR stem), 400 epochs: MiAMix on the two-view
# path. Identical to ./resnet18_miamix.py, which is itself two-view now
# (every MiAMix config of the paper's tables is); this name is kept so that
# earlier links and work directories keep working.
# ./resnet18_miamix_oneview.py is the same training on the one-view path.
_base_ = ['./resnet18_miamix.py']
custom_imports = dict(imports=['mmmiamix'], allow_failed_imports=False)

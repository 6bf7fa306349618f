"""Datasets registered in ``mmpretrain.registry.DATASETS``."""
from .cifar_c import CIFAR10C, CIFAR100C
from .digits import Digits
from .tiny_imagenet import TinyImageNet

__all__ = ['CIFAR10C', 'CIFAR100C', 'Digits', 'TinyImageNet']

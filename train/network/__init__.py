"""The detector: backbones (torchvision bodies, EfficientNet-Lite with ImageNet weights) with an
FPN, KeypointRCNN built from params, and the weights a run starts from.
"""

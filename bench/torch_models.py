"""What the PyTorch mirrors share (torch_bench.py, torch_epoch.py, torch_recipe.py): the chapter's
networks, as src/models/resnet.ts builds them, and the IDX reader for Fashion-MNIST. One module
that imports none of them, so they no longer import each other in a circle.
"""
import gzip

import numpy as np
import torch
from torch import nn


class Residual(nn.Module):
    """The chapter's block: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut (a 1x1 projection when
    the shape or the width changes), then ReLU. Names as in src/models/residual.ts."""

    def __init__(self, cin, c, same_shape=True):
        super().__init__()
        s = 1 if same_shape else 2
        self.conv1 = nn.Conv2d(cin, c, 3, padding=1, stride=s)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c)
        self.shortcut = nn.Conv2d(cin, c, 1, stride=s) if (not same_shape or cin != c) else None

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (self.shortcut(x) if self.shortcut is not None else x))


def resnet(model, num_classes=10):
    """A ResNet of basic blocks from a ResNetConfig-like dict (widths, depths, stemWidth, stem, headPool)."""
    widths = model.get('widths', [64, 128, 256, 512])
    depths = model.get('depths', [2, 2, 2, 2])
    stem_width = model.get('stemWidth', widths[0])
    if model.get('block', 'basic') != 'basic':
        raise SystemExit('torch_models.py: only basic blocks')
    if model.get('stem', 'seed') == 'seed':
        layers = [nn.Conv2d(1, stem_width, 7, stride=2), nn.MaxPool2d(3, 2)]  # b1: 7x7/2, no padding; b2's pool
    else:
        layers = [nn.Conv2d(1, stem_width, 3, padding=1), nn.BatchNorm2d(stem_width), nn.ReLU()]
    cin = stem_width
    for i, (c, d) in enumerate(zip(widths, depths)):
        for j in range(d):
            layers.append(Residual(cin, c, same_shape=not (i > 0 and j == 0)))
            cin = c
    pool = nn.AvgPool2d(3) if model.get('headPool', 'avg3') == 'avg3' else nn.AdaptiveAvgPool2d(1)
    layers += [pool, nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def seed_resnet(num_classes=10):
    """The seed's ResNet-18 (b1..b6 for 96x96x1 inputs)."""
    return resnet({}, num_classes)


def read_idx(path):
    """An IDX file (gzip) as a uint8 array of its shape."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

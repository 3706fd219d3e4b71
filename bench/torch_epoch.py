#!/usr/bin/env python3
"""PyTorch reference for the seed's full recipe, to put beside `npm start`'s wall time:
one epoch of Fashion-MNIST (60000 images) resized to 96x96 (bilinear, half-pixel centres), batch 64,
SGD lr 0.05, Xavier-uniform init, then accuracy on the 10000 test images. Same model as
torch_bench.py (the seed's ResNet). Prints one JSON line.

    /usr/bin/python3 bench/torch_epoch.py [--data-dir /usr/share/datasets/fashion-mnist] [--threads 2]
        [--precision fp32|bf16]    bf16: forward passes under torch.autocast('cpu', dtype=torch.bfloat16)
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import read_idx, seed_resnet  # noqa: E402


def batches(images, labels, batch, resize, order):
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        x = torch.from_numpy(images[idx].astype(np.float32) / 255.0).unsqueeze(1)
        x = F.interpolate(x, size=(resize, resize), mode='bilinear', align_corners=False)
        yield x.contiguous(memory_format=torch.channels_last), torch.from_numpy(labels[idx].astype(np.int64))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--resize', type=int, default=96)
    p.add_argument('--lr', type=float, default=0.05)
    p.add_argument('--train-limit', type=int, default=0)
    p.add_argument('--seed', type=int, default=0, help='weights and shuffling')
    p.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    def autocast():
        return torch.autocast('cpu', dtype=torch.bfloat16, enabled=a.precision == 'bf16')

    d = a.data_dir
    xtr, ytr = read_idx(f'{d}/train-images-idx3-ubyte.gz'), read_idx(f'{d}/train-labels-idx1-ubyte.gz')
    xte, yte = read_idx(f'{d}/t10k-images-idx3-ubyte.gz'), read_idx(f'{d}/t10k-labels-idx1-ubyte.gz')
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]

    net = seed_resnet().to(memory_format=torch.channels_last)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr)
    t0 = time.perf_counter()
    net.train()
    loss_sum, correct, n = 0.0, 0, 0
    order = np.random.default_rng(a.seed).permutation(len(ytr))
    for x, y in batches(xtr, ytr, a.batch, a.resize, order):
        opt.zero_grad(set_to_none=True)
        with autocast():
            out = net(x)
            loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(y)
        correct += (out.argmax(1) == y).sum().item()
        n += len(y)
    train_s = time.perf_counter() - t0
    net.eval()
    test_correct = 0
    with torch.no_grad():
        for x, y in batches(xte, yte, a.batch, a.resize, np.arange(len(yte))):
            with autocast():
                test_correct += (net(x).argmax(1) == y).sum().item()
    print(json.dumps({
        'torch': torch.__version__, 'seed': a.seed, 'threads': a.threads, 'precision': a.precision, 'train_images': n,
        'loss': loss_sum / n, 'train_acc': correct / n, 'test_acc': test_correct / len(yte),
        'train_seconds': train_s, 'wall_seconds': time.perf_counter() - t0, 'img_s': n / train_s,
    }))


if __name__ == '__main__':
    main()

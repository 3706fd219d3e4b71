#!/usr/bin/env python3
"""PyTorch reference for a resnet-ts training recipe (src/recipe.ts), for side-by-side runs:
the same network family, optimizer, schedule, loss, augmentation, batch-norm recalibration and
validation split, evaluated at the same points (after every epoch). The recipe comes in as the
JSON that `trainingRecipe(name)` returns, so both sides start from one definition.

With --precision bf16, the forward pass, the loss, the evaluations and the recalibration run under
`torch.autocast('cpu', dtype=torch.bfloat16)` (PyTorch's mixed precision: bf16 convolutions and
activations, float32 weights, optimizer state and batch-norm statistics), channels-last as always.

Prints one JSON line per epoch: {"epoch", "wall_seconds" (training + evaluations since the
first step), "train_seconds", "loss", "train_acc", "valid_acc", "test_acc"}, then a summary line.

    /usr/bin/python3 bench/torch_recipe.py --recipe-json '<json>' [--seed 0] [--threads 2] [--precision bf16]
"""
import contextlib
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
from torch_models import read_idx, resnet  # noqa: E402

VALIDATION_SPLIT_SEED = 20171025  # src/data/fashion_mnist.ts


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return rand


def epoch_seed(seed, epoch):
    h = (seed & 0xFFFFFFFF) ^ (((epoch + 1) * 0x9E3779B1) & 0xFFFFFFFF)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & 0xFFFFFFFF


def permutation(n, seed, epoch):
    """The same permutation as src/data/fashion_mnist.ts permutation()."""
    p = list(range(n))
    rand = mulberry32(epoch_seed(seed, epoch))
    for i in range(n - 1, 0, -1):
        j = int(rand() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return np.array(p)


def augment(images, rng, padding, flip):
    """Random shift by up to `padding` pixels (zero fill) and horizontal flip, on uint8 28x28."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding)))
    dy = rng.integers(-padding, padding + 1, n)
    dx = rng.integers(-padding, padding + 1, n)
    out = np.empty_like(images)
    for k in range(n):
        out[k] = padded[k, padding + dy[k]:padding + dy[k] + h, padding + dx[k]:padding + dx[k] + w]
    if flip:
        m = rng.random(n) < 0.5
        out[m] = out[m, :, ::-1]
    return out


def to_tensor(images, resize):
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    if resize != images.shape[1]:
        x = F.interpolate(x, size=(resize, resize), mode='bilinear', align_corners=False)
    return x.contiguous(memory_format=torch.channels_last)


def batches(images, labels, r, order, rng=None):
    aug = r.get('augment')
    for i in range(0, len(order), r['batchSize']):
        idx = order[i:i + r['batchSize']]
        imgs = images[idx]
        if rng is not None and aug:
            imgs = augment(imgs, rng, aug['padding'], aug['flip'])
        yield to_tensor(imgs, r['resize']), torch.from_numpy(labels[idx].astype(np.int64))


def autocast(precision):
    """bf16 mixed precision on the CPU, or nothing."""
    if precision == 'bf16':
        return torch.autocast('cpu', dtype=torch.bfloat16)
    return contextlib.nullcontext()


def correct_count(net, images, labels, r, precision='fp32'):
    """How many of the images the net (in eval mode) classifies right."""
    net.eval()
    correct = 0
    with torch.no_grad(), autocast(precision):
        for x, y in batches(images, labels, r, np.arange(len(labels))):
            correct += (net(x).argmax(1) == y).sum().item()
    net.train()
    return correct


def accuracy(net, images, labels, r, precision='fp32'):
    return correct_count(net, images, labels, r, precision) / len(labels)


def recalibrate(net, images, labels, r, order, rng, count, precision='fp32', shard=(0, 1)):
    """Precise BN: running statistics := the plain mean of `count` batches' statistics. With
    shard=(rank, world) only batches rank, rank + world, ... run here (the augmentation still draws
    for every batch), so the statistics are the mean of this share (tools/torch_ddp.py averages
    the shares). Returns the number of batches that ran."""
    rank, world = shard
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None  # cumulative average
    ran = 0
    with torch.no_grad(), autocast(precision):
        for k, (x, _) in enumerate(batches(images, labels, r, order, rng)):
            if k == count:
                break
            if k % world == rank:
                net(x)
                ran += 1
    for b in bns:
        b.momentum = 0.1
    return ran


def load_data(r, data_dir):
    """The recipe's training, validation (None, None without one) and test images (uint8 N x 28 x 28)
    and labels: the same held-out validation images as src/data/fashion_mnist.ts, then the limits."""
    d = data_dir
    xtr, ytr = read_idx(f'{d}/train-images-idx3-ubyte.gz'), read_idx(f'{d}/train-labels-idx1-ubyte.gz')
    xte, yte = read_idx(f'{d}/t10k-images-idx3-ubyte.gz'), read_idx(f'{d}/t10k-labels-idx1-ubyte.gz')
    xva = yva = None
    if r.get('validation'):
        held = np.sort(permutation(len(ytr), VALIDATION_SPLIT_SEED, 0)[len(ytr) - r['validation']:])
        keep = np.ones(len(ytr), bool)
        keep[held] = False
        xva, yva = xtr[held], ytr[held]
        xtr, ytr = xtr[keep], ytr[keep]
    if r.get('trainLimit'):
        xtr, ytr = xtr[:r['trainLimit']], ytr[:r['trainLimit']]
    if r.get('testLimit'):
        xte, yte = xte[:r['testLimit']], yte[:r['testLimit']]
    return xtr, ytr, xva, yva, xte, yte


def make_net(r):
    """The recipe's network, channels-last, Xavier-initialised from torch's generator, with batch
    norm's momentum as resnet-ts's."""
    net = resnet(r['model']).to(memory_format=torch.channels_last)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1  # Gluon's and resnet-ts's 0.9 in PyTorch's convention
    return net


def make_optimizer(net, r):
    """SGD with the recipe's momentum; weight decay on convolution and dense weights only."""
    decay = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    rest = [q for q in net.parameters() if all(q is not w for w in decay)]
    return torch.optim.SGD([{'params': decay, 'weight_decay': r['weightDecay']},
                            {'params': rest, 'weight_decay': 0}],
                           lr=r['learningRate'], momentum=r['momentum'], nesterov=r['nesterov'])


def steps_per_epoch(r, n):
    """Optimizer steps per epoch over n training images (src/recipe.ts stepsPerEpoch)."""
    steps = -(-n // r['batchSize'])
    if r.get('maxBatchesPerEpoch'):
        steps = min(steps, r['maxBatchesPerEpoch'])
    return steps


def make_schedule(opt, r, steps):
    """The recipe's learning-rate schedule over epochs x steps (None: constant)."""
    if r['schedule'] != 'one-cycle':
        return None
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r['learningRate'], total_steps=r['epochs'] * steps,
                                               pct_start=r['warmupFraction'], anneal_strategy='cos',
                                               cycle_momentum=False, div_factor=25, final_div_factor=1e4)


def loss_fn(out, y, r):
    """Cross-entropy with the recipe's label smoothing (mean over the batch)."""
    return F.cross_entropy(out, y, label_smoothing=r['labelSmoothing'])


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--recipe-json', required=True)
    p.add_argument('--data-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=None, help='overrides the recipe seed')
    p.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32',
                   help="bf16: forward, loss, evaluation and recalibration under torch.autocast('cpu', bfloat16)")
    a = p.parse_args()
    if a.precision == 'bf16' and not torch.backends.mkldnn.is_available():
        sys.exit('torch_recipe.py: --precision bf16 needs PyTorch built with oneDNN (mkldnn)')
    r = json.loads(a.recipe_json)
    seed = r['seed'] if a.seed is None else a.seed
    torch.set_num_threads(a.threads)
    torch.manual_seed(seed)
    xtr, ytr, xva, yva, xte, yte = load_data(r, a.data_dir)

    net = make_net(r)
    opt = make_optimizer(net, r)
    steps = steps_per_epoch(r, len(ytr))
    sched = make_schedule(opt, r, steps)
    t0 = time.perf_counter()
    train_s = 0.0
    history = []
    for epoch in range(r['epochs']):
        order = permutation(len(ytr), seed, epoch)
        rng = np.random.default_rng([seed, epoch])
        loss_sum, correct, n = 0.0, 0, 0
        te = time.perf_counter()
        for k, (x, y) in enumerate(batches(xtr, ytr, r, order, rng)):
            if k == steps:
                break
            opt.zero_grad(set_to_none=True)
            with autocast(a.precision):
                out = net(x)
                loss = loss_fn(out, y, r)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            n += len(y)
        train_s += time.perf_counter() - te
        if r.get('recalibrateBatches'):
            recalibrate(net, xtr, ytr, r, order, np.random.default_rng([seed, epoch, 1]), r['recalibrateBatches'],
                        a.precision)
        rec = {'epoch': epoch, 'loss': loss_sum / n, 'train_acc': correct / n,
               'valid_acc': accuracy(net, xva, yva, r, a.precision) if xva is not None else None,
               'test_acc': accuracy(net, xte, yte, r, a.precision)}
        rec['wall_seconds'] = time.perf_counter() - t0
        rec['train_seconds'] = train_s
        history.append(rec)
        print(json.dumps(rec), flush=True)
    print(json.dumps({'torch': torch.__version__, 'seed': seed, 'threads': a.threads, 'precision': a.precision,
                      'summary': True,
                      'final': history[-1], 'img_s': n * r['epochs'] / train_s}))


if __name__ == '__main__':
    main()

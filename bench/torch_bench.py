#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: training throughput of the seed ResNet (same architecture as
src/models/resnet.ts) at 96x96x1, SGD lr 0.05, torch.set_num_threads(THREADS); or, with --recipe-json,
of a recipe's model, input size, optimizer (momentum, Nesterov, weight decay) and loss (label
smoothing), built by torch_models.py as `npm run time-to-accuracy` builds it.

--precision bf16 runs forward and loss under torch.autocast('cpu', dtype=torch.bfloat16) (bf16 convolutions
and matmuls, fp32 weights and optimizer), the way a PyTorch user trains in bf16 on a CPU.

Prints one JSON line: {"batch", "threads", "channels_last", "precision", "step_s": [...], "median_img_s",
"best_img_s"}. --profile also prints torch.profiler's table of the timed steps (self CPU time per op, summed
over the steps) to stderr: the per-op side of `npm run bench -- --profile`.
"""
import argparse
import contextlib
import json
import os
import sys
import statistics
import time

import torch
from torch import nn


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import resnet, seed_resnet  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--steps', type=int, default=8)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--channels-last', type=int, default=-1, help='1/0, or -1: try both, report the faster')
    p.add_argument('--recipe-json', default=None, help="a recipe (src/recipe.ts's fields) instead of the seed's")
    p.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    p.add_argument('--profile', action='store_true', help="torch.profiler's per-op table of the timed steps, on stderr")
    a = p.parse_args()
    recipe = json.loads(a.recipe_json) if a.recipe_json else None
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    def model_and_optimizer():
        if recipe is None:
            net = seed_resnet()
            return net, torch.optim.SGD(net.parameters(), lr=0.05), nn.CrossEntropyLoss(), 96
        r = recipe
        net = resnet(r['model'])
        decay = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        rest = [q for q in net.parameters() if all(q is not w for w in decay)]
        opt = torch.optim.SGD([{'params': decay, 'weight_decay': r['weightDecay']}, {'params': rest, 'weight_decay': 0}],
                              lr=r['learningRate'], momentum=r['momentum'], nesterov=r['nesterov'])
        return net, opt, nn.CrossEntropyLoss(label_smoothing=r['labelSmoothing']), r['resize']

    def run(channels_last):
        net, opt, loss_fn, size = model_and_optimizer()
        x = torch.randn(a.batch, 1, size, size)
        y = torch.randint(0, 10, (a.batch,))
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)
        net.train()

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=a.precision == 'bf16'):
                loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            loss.item()

        for _ in range(a.warmup):
            step()
        times = []
        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if a.profile else None
        with profiler or contextlib.nullcontext():
            for _ in range(a.steps):
                t = time.perf_counter()
                step()
                times.append(time.perf_counter() - t)
        if profiler:
            print(f'torch.profiler, {a.steps} steps, channels_last={channels_last}, {a.precision}:', file=sys.stderr)
            print(profiler.key_averages().table(sort_by='self_cpu_time_total', row_limit=20), file=sys.stderr)
        return times

    modes = [True, False] if a.channels_last < 0 else [bool(a.channels_last)]
    best = None
    for cl in modes:
        times = run(cl)
        med = a.batch / statistics.median(times)
        if best is None or med > best['median_img_s']:
            best = {'batch': a.batch, 'threads': a.threads, 'channels_last': cl, 'precision': a.precision, 'step_s': times,
                    'median_img_s': med, 'best_img_s': a.batch / min(times), 'torch': torch.__version__}
    print(json.dumps(best))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Scale-out on an existing engine: a resnet-ts training recipe (src/recipe.ts, as the JSON that
`trainingRecipe(name)` returns) trained with PyTorch's DistributedDataParallel (gloo back end)
under `torchrun`, from a safetensors file of our names (`net.save('file://x.safetensors')`, or
`npm run export -- --recipe NAME --format safetensors`) to a safetensors file that loads back
with `net.loadWeights('file://y.safetensors')`. The distributed part is PyTorch's: torchrun starts
and watches the processes, DDP all-reduces the gradients, torch.distributed all-reduces the few
statistics below. Everything else is bench/torch_recipe.py's (imported, not copied): the data
and its held-out validation images, the seeded order, the augmentation, the network
(bench/torch_models.py), SGD with weight decay, the one-cycle schedule, label smoothing, batch-norm
recalibration.

    torchrun --nproc_per_node N [--nnodes M --node_rank K --master_addr HOST --master_port P] \\
        tools/torch_ddp.py --recipe-json '<json>'|recipe.json --weights start.safetensors --out trained.safetensors \\
        [--train-limit N] [--max-steps S] [--threads T] [--micro-batches K] [--seed S] [--data-dir DIR]

Debian 12's PyTorch 1.13 on Python 3.11 needs `--redirects 2 --tee 2` on torchrun's command line
(its default "0" is not found among the IntFlag's members under 3.11, pytorch/pytorch#92319; fixed
in 2.0): the workers' stderr then reaches the console through a log file, each line prefixed
`[default<rank>]:`, and their stdout is not redirected.

The batch. Every process assembles the whole global batch of the recipe's size from the same
seeded order and augmentation draws as the single-process recipe, and keeps its contiguous share:
with W processes and K micro-batches each (--micro-batches, gradient accumulation under
DDP's no_sync), the batch is cut into W x K equal groups (nearly, for a shorter last batch), process
r taking groups rK .. rK + K - 1.
So the global batch is the recipe's batch size whatever W is, and W x K must divide it (an error
otherwise). Each group's mean loss is weighted by its share of the batch, so the gradient DDP
averages is the gradient of the whole batch's mean loss (also for a shorter last batch).

Batch norm is per group: in training each process normalises its groups with their own statistics
(W x K groups of batchSize / (W x K) images per step, not the recipe's one group of batchSize).
SyncBatchNorm would normalise across processes, but in torch 1.13 it runs on CUDA only: on CPU
with gloo its forward raises "ValueError: SyncBatchNorm expected input tensor to be on GPU"
(tested here). The running averages are rank 0's (DDP broadcasts rank 0's buffers before each
forward, and before each evaluation this script does too). A recipe with recalibration (fast:
20 batches) replaces them at each epoch's end by the plain mean of the statistics of whole
batches, as in one process: each process takes every W-th recalibration batch, and the means are
combined with all_reduce. A single process with the same number of groups (--micro-batches W x K
under `torchrun --nproc_per_node 1`) computes what W processes compute (the running averages aside
when nothing recalibrates them: one process updates them once per group); test/tools/torch_ddp.test.ts
checks that.

Evaluation (after each epoch) is split across the processes and the counts all-reduced. Rank 0
prints one JSON line per epoch ({"epoch", "steps", "loss", "train_acc", "valid_acc", "test_acc",
"wall_seconds", "train_seconds"}) and a summary line, and writes --out (atomically: a temporary
file renamed into place) with the starting file's metadata (so `loadWeights` knows the input
shape) plus what trained it.

Checked before any process group is set up, the same way on every process: torchrun's
environment, the weights file (missing, not safetensors, or tensors that do not match the
recipe's network: each missing, unexpected and misshapen tensor named), a process count that does
not divide the batch, the output's directory.
"""
import argparse
import contextlib
import gc
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'bench'))
from torch_recipe import (batches, correct_count, load_data, loss_fn, make_net, make_optimizer,  # noqa: E402
                          make_schedule, permutation, recalibrate, steps_per_epoch)
from torch_safetensors import read_metadata, read_safetensors, write_safetensors  # noqa: E402

NAME = 'torch_ddp.py'


def fail(message):
    sys.exit(f'{NAME}: {message}')


def read_recipe(text):
    """The recipe from --recipe-json: JSON text, or the name of a file holding it."""
    if not text.lstrip().startswith('{'):
        if not os.path.isfile(text):
            fail(f'--recipe-json {text}: neither JSON nor a file')
        with open(text) as f:
            text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        fail(f'--recipe-json: not JSON ({e})')


def load_start(net, path, r):
    """Loads the starting weights (our safetensors names) into net; returns the file's metadata."""
    if not os.path.isfile(path):
        fail(f'--weights {path}: no such file (save one with net.save(\'file://{path}\'), or '
             f'npm run export -- --recipe {r.get("name", "NAME")} --format safetensors --out {path})')
    try:
        tensors, meta = read_safetensors(path), read_metadata(path)
    except Exception as e:  # noqa: BLE001 (any malformed file)
        fail(f'--weights {path}: not a safetensors file ({type(e).__name__}: {e})')
    own = net.state_dict()
    optional = [k for k in own if k.endswith('.num_batches_tracked')]
    missing = [k for k in own if k not in tensors and k not in optional]
    unexpected = [k for k in tensors if k not in own]
    misshapen = [f"'{k}' has shape {list(t.shape)}, expected {list(own[k].shape)}"
                 for k, t in tensors.items() if k in own and t.shape != own[k].shape]
    if missing or unexpected or misshapen:
        problems = ([f'missing tensor(s): {", ".join(missing)}'] if missing else []) + \
            ([f'unexpected tensor(s): {", ".join(unexpected)}'] if unexpected else []) + misshapen
        saved = f' (the file was saved from {meta["className"]} {meta["config"]})' if 'config' in meta else ''
        fail(f"--weights {path} does not fit the recipe's network (bench/torch_models.py resnet("
             f"{json.dumps(r['model'])})){saved}: {'; '.join(problems)}")
    net.load_state_dict({k: tensors[k].to(v.dtype) if k in tensors else v for k, v in own.items()})
    return meta


def group_bounds(n, groups):
    """Where a batch of n images is cut into `groups` contiguous groups of (nearly) equal size."""
    return [g * n // groups for g in range(groups + 1)]


def all_reduce(values):
    """The sum over the processes of a list of numbers (float64)."""
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def average_recalibration(net, ran):
    """Each process recalibrated on its share (`ran` batches): running statistics := the mean over all batches."""
    (total,) = all_reduce([ran])
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            for b in (m.running_mean, m.running_var):
                s = b.double() * ran
                dist.all_reduce(s)
                b.copy_(s / total)
            dist.all_reduce(m.num_batches_tracked)


def sharded_accuracy(net, images, labels, r, rank, world):
    """Accuracy on a data set, each process counting a contiguous share."""
    if images is None:
        return None
    lo, hi = group_bounds(len(labels), world)[rank:rank + 2]
    (correct,) = all_reduce([correct_count(net, images[lo:hi], labels[lo:hi], r)])
    return correct / len(labels)


def main():
    p = argparse.ArgumentParser(description='A resnet-ts recipe under torchrun with DistributedDataParallel (gloo).')
    p.add_argument('--recipe-json', required=True,
                   help="a recipe of src/recipe.ts as trainingRecipe(name)'s JSON, or a file holding it")
    p.add_argument('--weights', required=True, help='starting weights: safetensors with our (bench/torch_models) names')
    p.add_argument('--out', required=True, help='trained weights, safetensors (written by rank 0, atomically)')
    p.add_argument('--data-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--train-limit', type=int, default=None, help="overrides the recipe's trainLimit")
    p.add_argument('--max-steps', type=int, default=None,
                   help='stop after this many optimizer steps (the schedule still spans the whole recipe)')
    p.add_argument('--micro-batches', type=int, default=1, help='groups per process and step (gradient accumulation)')
    p.add_argument('--threads', type=int, default=None, help='threads per process (default: cores / local processes)')
    p.add_argument('--seed', type=int, default=None, help='overrides the recipe seed')
    a = p.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        fail('run me under torchrun: torchrun --nproc_per_node N tools/torch_ddp.py ...')
    rank, world = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    local_world = int(os.environ.get('LOCAL_WORLD_SIZE', world))
    r = read_recipe(a.recipe_json)
    if a.train_limit:
        r['trainLimit'] = a.train_limit
    seed = r['seed'] if a.seed is None else a.seed
    threads = a.threads or max(1, (os.cpu_count() or 1) // local_world)
    if (a.max_steps is not None and a.max_steps < 1) or (a.train_limit is not None and a.train_limit < 1):
        fail('--max-steps and --train-limit take a positive number')
    groups = world * a.micro_batches
    if a.micro_batches < 1 or r['batchSize'] % groups:
        fail(f"the recipe's batch of {r['batchSize']} does not split into {world} process(es) x {a.micro_batches} "
             f'micro-batch(es): choose --nproc_per_node (times --micro-batches) dividing {r["batchSize"]}')
    out_dir = os.path.dirname(os.path.abspath(a.out))
    if not os.path.isdir(out_dir):
        fail(f'--out {a.out}: no such directory {out_dir}')
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = make_net(r)
    meta = load_start(net, a.weights, r)
    xtr, ytr, xva, yva, xte, yte = load_data(r, a.data_dir)
    steps = steps_per_epoch(r, len(ytr))
    last = len(ytr) - (steps - 1) * r['batchSize']
    if last < groups:
        fail(f'the last batch of each epoch has {last} image(s), fewer than the {groups} groups it is split into '
             f'(change --train-limit)')

    dist.init_process_group('gloo')
    ddp = DistributedDataParallel(net)
    opt = make_optimizer(net, r)
    sched = make_schedule(opt, r, steps)
    t0 = time.perf_counter()
    train_s, done, images, history = 0.0, 0, 0, []
    for epoch in range(r['epochs']):
        order = permutation(len(ytr), seed, epoch)
        rng = np.random.default_rng([seed, epoch])
        loss_sum, correct, seen = 0.0, 0, 0
        te = time.perf_counter()
        for k, (x, y) in enumerate(batches(xtr, ytr, r, order, rng)):
            if k == steps or done == a.max_steps:
                break
            cut = group_bounds(len(y), groups)
            opt.zero_grad(set_to_none=True)
            for j in range(a.micro_batches):
                g = rank * a.micro_batches + j
                xg, yg = x[cut[g]:cut[g + 1]], y[cut[g]:cut[g + 1]]
                with ddp.no_sync() if j < a.micro_batches - 1 else contextlib.nullcontext():
                    out = ddp(xg)
                    loss = loss_fn(out, yg, r)
                    # DDP averages over the W processes: weighted so the result is the whole batch's mean.
                    (loss * (len(yg) * world / len(y))).backward()
                loss_sum += loss.item() * len(yg)
                correct += (out.argmax(1) == yg).sum().item()
                seen += len(yg)
            opt.step()
            if sched:
                sched.step()
            done += 1
            images += len(y)
        train_s += time.perf_counter() - te
        if r.get('recalibrateBatches'):
            ran = recalibrate(net, xtr, ytr, r, order, np.random.default_rng([seed, epoch, 1]),
                              r['recalibrateBatches'], shard=(rank, world))
            if world > 1:
                average_recalibration(net, ran)
        else:
            for b in net.buffers():  # rank 0's running statistics everywhere, as DDP's next forward would do
                dist.broadcast(b, 0)
        loss_sum, correct, seen = all_reduce([loss_sum, correct, seen])
        rec = {'epoch': epoch, 'steps': done, 'loss': loss_sum / seen, 'train_acc': correct / seen,
               'valid_acc': sharded_accuracy(net, xva, yva, r, rank, world),
               'test_acc': sharded_accuracy(net, xte, yte, r, rank, world)}
        rec['wall_seconds'] = time.perf_counter() - t0
        rec['train_seconds'] = train_s
        history.append(rec)
        if rank == 0:
            print(json.dumps(rec), flush=True)
        if done == a.max_steps:
            break
    if rank == 0:
        meta = {**meta, 'trainedBy': f'tools/{NAME} (DistributedDataParallel, gloo)', 'worldSize': str(world),
                'microBatches': str(a.micro_batches), 'steps': str(done), 'recipe': r.get('name', '')}
        write_safetensors(a.out, {k: v for k, v in net.state_dict().items()}, meta)
        print(json.dumps({'summary': True, 'torch': torch.__version__, 'world_size': world,
                          'micro_batches': a.micro_batches, 'group_batch': r['batchSize'] // groups,
                          'threads': threads, 'seed': seed, 'steps': done, 'out': a.out, 'final': history[-1],
                          'img_s': images / train_s if train_s else None}), flush=True)
    # DDP's reducer goes first: left to hold the last reference to the gloo group, it destroys it with the GIL
    # held, and the group's join of its worker threads hangs when one of them is freeing a tensor (which needs
    # the GIL; seen here, PyTorch 1.13, pytorch/pytorch#56297). The group's own Python object releases the GIL.
    del ddp
    gc.collect()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()

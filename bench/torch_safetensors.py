"""The PyTorch side of the safetensors crossings (test/io/safetensors_torch.test.ts): builds a
torchvision network (or the chapter's mirror from torch_models.py), either loads a safetensors
state_dict into it with load_state_dict(strict=True) or makes one from a seeded random init, and
prints its eval-mode logits on the input tensor `x` (NHWC, as resnet-ts writes it) of a
safetensors file, as one JSON line: in float32 (`logits`) and, with the same weights, in float64
(`logits64`, the exact answer both float32 results round away from).

    torch_safetensors.py --arch resnet18 --load ours.safetensors --input x.safetensors
    torch_safetensors.py --arch resnet50 --seed 3 --save theirs.safetensors [--dtype BF16] --input x.safetensors

Archs: torchvision's resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d (v1.5:
stride 2 on the bottleneck's 3x3 conv); resnet50-1x1 etc., the same nets with the stride on the
first 1x1 conv (He et al. 2015, as resnet-ts's imagenet-resnet50 preset); `chapter` with
--config JSON, torch_models.resnet() (the seed's net for {}).

The safetensors format is written and read here with struct + json (Debian has no python3-safetensors).
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64,
          'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8, 'BOOL': torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> tensor (written in its dtype, little-endian, contiguous)."""
    header, blobs, at = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        b = t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
    os.replace(path + '.tmp', path)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        raw = bytearray(body[b:end])
        t = torch.frombuffer(raw, dtype=DTYPES[e['dtype']]) if raw else torch.zeros(0, dtype=DTYPES[e['dtype']])
        out[name] = t.reshape(e['shape']).clone()
    return out


def read_metadata(path):
    """The header's __metadata__ (a dict of strings; {} when there is none)."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        return json.loads(f.read(n)).get('__metadata__', {})


def build(arch, config):
    if arch == 'chapter':
        return torch_models.resnet(config, config.get('numClasses', 10))
    name, _, stride = arch.partition('-')
    net = getattr(torchvision.models, name)(weights=None)
    if stride == '1x1':  # the paper's bottleneck: stride 2 on conv1 (1x1), not on conv2 (3x3)
        for m in net.modules():
            if isinstance(m, torchvision.models.resnet.Bottleneck) and m.conv2.stride == (2, 2):
                m.conv1.stride, m.conv2.stride = (2, 2), (1, 1)
    elif stride:
        raise SystemExit(f'unknown arch {arch}')
    return net


def randomize(net, x):
    """Seeded init, then batch norms made non-trivial: random affine, running stats of a random batch."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.momentum = None  # cumulative average: the statistics of the batches below
        net.train()
        net(torch.randn(16, *x.shape[1:]))
        net(torch.randn(16, *x.shape[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--arch', required=True)
    ap.add_argument('--config', default='{}', help='chapter: a ResNetConfig-like JSON for torch_models.resnet')
    ap.add_argument('--load', help='a safetensors state_dict, loaded with strict=True')
    ap.add_argument('--save', help='write the seeded random state_dict here')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--dtype', default='F32', choices=['F32', 'F16', 'BF16'], help='dtype of the saved float tensors')
    ap.add_argument('--input', required=True, help='safetensors with x, NHWC float32')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = build(args.arch, json.loads(args.config))
    x = read_safetensors(args.input)['x'].float().permute(0, 3, 1, 2).contiguous()
    if args.load:
        net.load_state_dict(read_safetensors(args.load), strict=True)
    else:
        randomize(net, x)
    net.eval()
    if args.save:
        sd = net.state_dict()
        if args.dtype != 'F32':
            sd = {k: v.to(DTYPES[args.dtype]) if v.is_floating_point() else v for k, v in sd.items()}
            # The logits below are those of the weights as saved.
            net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
        write_safetensors(args.save, sd, {'format': 'pt'})
    names = list(net.state_dict())
    with torch.no_grad():
        y = net(x)
        # The same weights in float64: the exact logits, to tell rounding from a wrong crossing.
        y64 = net.double()(x.double())
    print(json.dumps({'shape': list(y.shape), 'logits': y.reshape(-1).tolist(), 'logits64': y64.reshape(-1).tolist(),
                      'names': names}))


if __name__ == '__main__':
    main()

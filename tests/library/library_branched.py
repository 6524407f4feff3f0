"""PyTorch twins of the library's branched networks (ResNet-18/50, MobileNetV2, DenseNet-121,
GoogLeNet), written in plain torch after torchvision's definitions, and the walk that turns one
into rows in dlsolve's order: a block's layers, its shortcut, the join (`+` or `torch.cat`), the
activation after it. Per row: the output shape, `sum(p.numel())`, the running-statistic buffers,
FLOPs from torch.utils.flop_counter and the output's numel().
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Residual:
    layers: list
    shortcut: list = field(default_factory=list)
    after: nn.Module | None = None


@dataclass
class Concat:
    branches: list  # lists of items; [] is the identity


def cbr(cin, cout, k, s=1, p=0, act=nn.ReLU):
    """conv (no bias) + batch norm (+ activation), as torchvision's BasicConv2d / ConvBNReLU."""
    items = [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout)]
    return items + ([act()] if act else [])


def resnet(block: str, counts: list[int]):
    items, cin = cbr(3, 64, 7, 2, 3) + [nn.MaxPool2d(3, 2, 1)], 64
    expansion = 4 if block == "bottleneck" else 1
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), counts)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            if block == "basic":
                layers = cbr(cin, width, 3, stride, 1) + cbr(width, width, 3, 1, 1, act=None)
            else:
                layers = (cbr(cin, width, 1) + cbr(width, width, 3, stride, 1)
                          + cbr(width, width * expansion, 1, act=None))
            out = width * expansion
            shortcut = cbr(cin, out, 1, stride, act=None) if stride != 1 or cin != out else []
            items.append(Residual(layers, shortcut, nn.ReLU()))
            cin = out
    return items + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]


def mobilenet_v2():
    items, cin = cbr(3, 32, 3, 2, 1, act=nn.ReLU6), 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)):
        for i in range(n):
            stride, hidden = (s if i == 0 else 1), cin * t
            layers = (cbr(cin, hidden, 1, act=nn.ReLU6) if t != 1 else [])
            layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU6()] + cbr(hidden, c, 1, act=None)
            items += [Residual(layers)] if stride == 1 and cin == c else layers
            cin = c
    return items + cbr(cin, 1280, 1, act=nn.ReLU6) + [nn.AdaptiveAvgPool2d(1), nn.Dropout(0.2), nn.Flatten(),
                                                      nn.Linear(1280, 1000)]


def densenet121():
    items, channels = cbr(3, 64, 7, 2, 3) + [nn.MaxPool2d(3, 2, 1)], 64
    for i, count in enumerate((6, 12, 24, 16)):
        for _ in range(count):
            items.append(Concat([[], [nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, 128, 1, bias=False),
                                      nn.BatchNorm2d(128), nn.ReLU(), nn.Conv2d(128, 32, 3, 1, 1, bias=False)]]))
            channels += 32
        if i < 3:
            items += [nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels // 2, 1, bias=False),
                      nn.AvgPool2d(2)]
            channels //= 2
    return items + [nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                    nn.Linear(channels, 1000)]


def googlenet():
    def inception(cin, c1, r3, c3, r5, c5, pool):
        return Concat([cbr(cin, c1, 1), cbr(cin, r3, 1) + cbr(r3, c3, 3, 1, 1), cbr(cin, r5, 1) + cbr(r5, c5, 3, 1, 1),
                       [nn.MaxPool2d(3, 1, 1, ceil_mode=True)] + cbr(cin, pool, 1)])

    pool = [nn.MaxPool2d(3, 2, ceil_mode=True)]
    return (cbr(3, 64, 7, 2, 3) + pool + cbr(64, 64, 1) + cbr(64, 192, 3, 1, 1) + [nn.MaxPool2d(3, 2, ceil_mode=True)]
            + [inception(192, 64, 96, 128, 16, 32, 32), inception(256, 128, 128, 192, 32, 96, 64),
               nn.MaxPool2d(3, 2, ceil_mode=True),
               inception(480, 192, 96, 208, 16, 48, 64), inception(512, 160, 112, 224, 24, 64, 64),
               inception(512, 128, 128, 256, 24, 64, 64), inception(512, 112, 144, 288, 32, 64, 64),
               inception(528, 256, 160, 320, 32, 128, 128), nn.MaxPool2d(2, 2, ceil_mode=True),
               inception(832, 256, 160, 320, 32, 128, 128), inception(832, 384, 192, 384, 48, 128, 128),
               nn.AdaptiveAvgPool2d(1), nn.Dropout(0.2), nn.Flatten(), nn.Linear(1024, 1000)])


# key: (torch items, the published parameter count)
BRANCHED = {
    "examples/network-resnet18.yaml::resnet18": (lambda: resnet("basic", [2, 2, 2, 2]), 11_689_512),
    "examples/network-resnet50.yaml::resnet50": (lambda: resnet("bottleneck", [3, 4, 6, 3]), 25_557_032),
    "examples/network-mobilenetv2.yaml::mobilenetv2": (mobilenet_v2, 3_504_872),
    "examples/network-densenet121.yaml::densenet121": (densenet121, 7_978_856),
    "examples/network-googlenet.yaml::googlenet": (googlenet, 6_624_904),
}


def walk(items: list, x: torch.Tensor, rows: list) -> torch.Tensor:
    """Run the items on x, appending one row per dlsolve row (a Flatten before Linear is the
    fc row's implicit flatten, so it gives no row of its own; torchvision's dropout before the
    classifier sits after its flatten, here before it: the same network, one shape per row)."""
    for item in items:
        if isinstance(item, Residual):
            y = walk(item.layers, x, rows)
            shortcut = walk(item.shortcut, x, rows)
            x = y + shortcut
            rows.append(_row(x, 0, 0, 0))
            if item.after is not None:
                x = walk([item.after], x, rows)
        elif isinstance(item, Concat):
            outputs = [walk(branch, x, rows) for branch in item.branches]
            x = torch.cat(outputs, dim=1)
            rows.append(_row(x, 0, 0, 0))
        elif isinstance(item, nn.Flatten):
            x = item(x)
        else:
            item.eval()
            with FlopCounterMode(display=False) as counter:
                y = item(x)
            buffers = sum(b.numel() for n, b in item.named_buffers() if "running" in n)
            rows.append(_row(y, sum(p.numel() for p in item.parameters()), buffers, counter.get_total_flops()))
            x = y
    return x


def _row(y, params, buffers, flops) -> dict:
    return {"output": list(y.shape[1:]), "params": params, "buffers": buffers, "flops": flops,
            "activations": y.numel()}


def torch_rows(key: str) -> tuple[list[dict], int, int]:
    """(rows, parameters of the whole torch model, the published count)."""
    build, published = BRANCHED[key]
    items = build()
    rows = []
    with torch.no_grad():
        walk(items, torch.zeros(1, 3, 224, 224), rows)
    model = nn.ModuleList(_modules(items))
    return rows, sum(p.numel() for p in model.parameters()), published


def _modules(items):
    for item in items:
        if isinstance(item, Residual):
            yield from _modules(item.layers + item.shortcut + ([item.after] if item.after else []))
        elif isinstance(item, Concat):
            for branch in item.branches:
                yield from _modules(branch)
        else:
            yield item


class _Sequence(nn.Module):
    def __init__(self, items):
        super().__init__()
        self.items = nn.ModuleList(items)

    def forward(self, x):
        for item in self.items:
            x = item(x)
        return x


class _Residual(nn.Module):
    def __init__(self, item: Residual):
        super().__init__()
        self.layers, self.shortcut = as_module(item.layers), as_module(item.shortcut)
        self.after = item.after

    def forward(self, x):
        y = self.layers(x) + self.shortcut(x)
        return self.after(y) if self.after is not None else y


class _Concat(nn.Module):
    def __init__(self, item: Concat):
        super().__init__()
        self.branches = nn.ModuleList(as_module(branch) for branch in item.branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def as_module(items: list) -> nn.Module:
    """The items as one nn.Module (for the FLOP-counting tools, which take a model)."""
    return _Sequence([_Residual(i) if isinstance(i, Residual) else _Concat(i) if isinstance(i, Concat) else i
                      for i in items])

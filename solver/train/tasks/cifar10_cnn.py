"""cifar10-cnn: a fast CIFAR-10 classifier in the spirit of the published speed records.

The recipe follows the ideas of the CIFAR-10 speed-record line of work (Page's "How to
train your ResNet", Keller Jordan's airbench), written anew and scaled to the machine:

- a first 2x2 convolution whose filters *whiten* the pixel patches (computed once from the
  training images, then frozen): the next layers start from decorrelated inputs;
- no residual connections: three blocks conv 3x3 → max-pool → batch norm → GELU →
  conv 3x3 → batch norm → GELU, then a global max-pool and one linear layer;
- label smoothing, Nesterov SGD with a warm-up then linearly falling learning rate, weight
  decay; random horizontal flips and random 2-pixel translations;
- a moving average of the weights is scored and saved: it smooths the last SGD steps;
- test-time augmentation: the class probabilities of the image, its mirror image and their
  one-pixel shifts are averaged;
- channels-last memory layout; bfloat16 autocast on a GPU (on the CPUs measured so far
  float32 was faster: docs/training-pytorch.md).

Two sizes: the full recipe (widths 64 / 256 / 256, batch 1024) is the default on a GPU and
with --full; on a CPU a bounded one (widths 48 / 96 / 192) keeps a run within five minutes
on two cores.
"""

from __future__ import annotations

SUMMARY = "CIFAR-10 CNN after the speed records: whitening, BN, TTA (PyTorch)"

DEFAULTS = {  # the bounded CPU recipe
    "epochs": 30,
    "batch_size": 256,
    "lr": 0.2,  # peak, for the whole batch (Nesterov SGD)
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "label_smoothing": 0.2,
    "warmup": 0.2,
    "final_lr": 0.05,  # fraction of the peak left at the end
    "widths": [48, 96, 192],
    "whiten_width": 12,  # 2x2x3 patches have 12 dimensions; the filters come in ± pairs
    "translate": 2,  # pixels of random translation
    "cutout": 0,  # side of the random square blanked out of each training image (0: none)
    "tta": True,
    # Decay of the moving average of the weights that is scored and saved (None: the raw
    # weights); 0.98 averages over the last ~50 steps, about 2.5 epochs here.
    "ema": 0.98,
    "precision": "auto",  # bf16 autocast on a GPU; float32 on a CPU, where bf16 measured slower
}

# Four times the batch, four times the peak learning rate; ~50 steps per epoch on the full
# 50,000 images, so a slower average.
FULL_DEFAULTS = {**DEFAULTS, "epochs": 16, "batch_size": 1024, "lr": 0.8,
                 "widths": [64, 256, 256], "ema": 0.99}

LOGIT_SCALE = 9.0
# Per-channel mean and standard deviation of the CIFAR-10 training images (values 0..255).
CIFAR_MEAN = (125.31, 122.95, 113.87)
CIFAR_STD = (62.99, 62.09, 66.70)


def defaults_for(config) -> dict:
    """The full recipe with --full or when the run will be on a GPU, else the CPU one."""
    if config.full:
        return FULL_DEFAULTS
    if config.device in ("auto", "cuda"):
        import torch

        if torch.cuda.is_available():
            return FULL_DEFAULTS
    return DEFAULTS


def network(widths, whiten_width: int):
    import torch
    from torch import nn

    def conv_bn(c_in, c_out, pool: bool):
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
        if pool:  # pooling before BN and GELU: those then run on a quarter of the values
            layers.append(nn.MaxPool2d(2))
        return layers + [nn.BatchNorm2d(c_out), nn.GELU()]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.whiten = nn.Conv2d(3, 2 * whiten_width, 2, padding=0)
            layers, channels = [nn.GELU()], 2 * whiten_width
            for width in widths:
                layers += conv_bn(channels, width, pool=True) + conv_bn(width, width, pool=False)
                channels = width
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(channels, 10, bias=False)

        def forward(self, x):
            x = self.body(self.whiten(x))  # 32 → 31 → 15 → 7 → 3 pixels
            # Scaled-down scores: at full scale the first high-learning-rate steps make the
            # scores explode (loss above chance level for a whole epoch).
            return self.head(torch.amax(x, dim=(2, 3))) / LOGIT_SCALE

    return Net()


def whitening_filters(images, width: int):
    """2x2 filters that map pixel patches to decorrelated, unit-variance components.

    The eigenvectors of the patch covariance, scaled by 1/sqrt(eigenvalue), for the `width`
    largest components, each also negated: the GELU after it then sees both signs.
    """
    import torch

    patches = images.unfold(2, 2, 1).unfold(3, 2, 1)  # N, 3, 31, 31, 2, 2
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
    patches = patches - patches.mean(0)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0)[:width], eigenvectors.flip(1)[:, :width]
    filters = (eigenvectors / torch.sqrt(eigenvalues + 1e-2)).T.reshape(width, 3, 2, 2)
    return torch.cat([filters, -filters]).float()


def translate(x, dx: int, dy: int):
    """Shift images by (dx, dy) pixels, filling the border by reflection."""
    import torch.nn.functional as F

    if dx == 0 and dy == 0:
        return x
    pad = max(abs(dx), abs(dy))
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    h, w = x.shape[2:]
    return padded[:, :, pad - dy:pad - dy + h, pad - dx:pad - dx + w]


def augmenter(max_shift: int, cutout: int = 0):
    """Random horizontal flips, random translations of up to max_shift pixels and (cutout > 0)
    one random cutout x cutout square set to zero (the mean colour), per image."""
    import torch

    def augment(x, generator):
        n = len(x)
        flip = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
        if max_shift:
            shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
            out = torch.empty_like(x)
            # One slice per distinct shift (at most 25) instead of one per image.
            for dx, dy in shifts.unique(dim=0).tolist():
                chosen = ((shifts[:, 0] == dx) & (shifts[:, 1] == dy)).nonzero()[:, 0].to(x.device)
                out[chosen] = translate(x[chosen], dx, dy)
            x = out
        if cutout:
            n, _, h, w = x.shape
            corner = torch.randint(-cutout + 1, h, (n, 2), generator=generator).to(x.device)
            rows = torch.arange(h, device=x.device)
            inside_y = (rows[None, :] >= corner[:, :1]) & (rows[None, :] < corner[:, :1] + cutout)
            inside_x = (rows[None, :] >= corner[:, 1:]) & (rows[None, :] < corner[:, 1:] + cutout)
            keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
            x = x * keep[:, None].to(x.dtype)
        return x

    return augment


def predict_tta(model, x):
    """Log of the mean class probabilities over six views: the image, its mirror image, and
    both shifted by one pixel either way along the diagonal."""
    views = [x, x.flip(3)]
    views += [translate(v, 1, 1) for v in views] + [translate(v, -1, -1) for v in views]
    return (sum(model(v).float().softmax(1) for v in views) / len(views)).log()


def schedule(warmup: float, final: float):
    def factor(progress: float) -> float:
        if progress < warmup:
            return 0.1 + 0.9 * progress / warmup
        return final + (1 - final) * (1 - progress) / (1 - warmup)
    return factor


def train(config) -> dict:
    import torch

    from solver.train.data import load_cifar10
    from solver.train.torch_utils import (Learner, count_parameters, evaluate, fit_classifiers,
                                          open_run, save_model, to_device_tensors,
                                          training_session)

    config = config.with_defaults(defaults_for(config))
    options = config.extra
    with training_session(config, options["precision"]) as env:
        cifar = load_cifar10(config.data_dir, config.cifar_dir)
        x, y = cifar["train"]
        if config.limit:
            x, y = x[:config.limit], y[:config.limit]
        # The official test batch serves as validation too: there is no other labelled set
        # here, and nothing is tuned on it during a run.
        data = to_device_tensors({"train": (x, y), "test": cifar["test"]}, env.device)
        data["val"] = data["test"]
        mean = torch.tensor(CIFAR_MEAN, device=env.device).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD, device=env.device).view(1, 3, 1, 1)

        def prepare(images):
            x = (images.float() - mean) / std
            return x.contiguous(memory_format=torch.channels_last)

        run = open_run(config, env)
        model = network(options["widths"], options["whiten_width"])
        with torch.no_grad():
            model.whiten.weight.copy_(whitening_filters(prepare(data["train"][0][:5000]).cpu(),
                                                        options["whiten_width"]))
        model.whiten.weight.requires_grad_(False)  # fixed: only its bias learns
        model = model.to(env.device, memory_format=torch.channels_last)
        # No weight decay on batch-norm and bias parameters: decaying them only shrinks
        # the scale that the next layer's normalisation undoes anyway.
        decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
        optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": options["weight_decay"]},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=config.lr, momentum=options["momentum"], nesterov=True)
        learner = Learner("", model, optimizer, schedule(options["warmup"], options["final_lr"]),
                          label_smoothing=options["label_smoothing"],
                          augment=augmenter(options["translate"], options["cutout"]),
                          predict=predict_tta if options["tta"] else None,
                          ema_decay=options["ema"])
        final = fit_classifiers(config, env, run, [learner], data, prepare)
        if options["tta"]:  # what the augmentation at test time adds
            final["test_accuracy_no_tta"] = evaluate(learner.scored_model, env, *data["test"],
                                                     prepare)[1]
        model_file = save_model(run, env, learner.scored_model)
        run.finish(final, model_file, [("Model and recipe", (
            f"Whitening 2x2 convolution ({2 * options['whiten_width']} fixed filters), then "
            f"conv–pool–BN–GELU blocks of widths {options['widths']}, global max-pool and a "
            f"linear layer: {count_parameters(model):,} parameters. Nesterov SGD (peak lr "
            f"{config.lr:g}, batch {config.batch_size}), label smoothing "
            f"{options['label_smoothing']}, flips and ±{options['translate']} px translations; "
            f"test-time augmentation {'on' if options['tta'] else 'off'}. Trained on "
            f"{env.describe()} with {final['train_samples']} images; classes: "
            f"{', '.join(cifar['classes'])}."))])
        return {**final, "run_dir": str(run.dir)}

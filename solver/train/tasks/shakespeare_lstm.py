"""shakespeare-lstm: a character-level LSTM language model of Tiny Shakespeare.

The text's first 90 % trains, the last 10 % validates; the loss is the mean cross-entropy
of the next character in nats per character (bits = nats / ln 2). For scale the report
gives the unigram baseline: the loss of always predicting the training set's character
frequencies.

Training reads the text as B parallel streams, each a contiguous stretch, cut into chunks of
T characters; the LSTM state is carried from one chunk of a stream to the next (truncated
backpropagation through time), so the model sees context far beyond T characters while
gradients flow through T steps only. Each epoch starts the cuts at a new random offset.

--backend torch (default): embedding → multi-layer nn.LSTM → linear, AdamW.
--backend numpy: the course's hand-written LSTM (solver/nn, gradient-checked) on one-hot
characters, a linear layer and softmax cross-entropy, trained by the NumPy Adam; small and
slow, but it learns.

`dlsolve generate RUN_DIR` samples text from the saved model (solver/train/generate.py).
"""

from __future__ import annotations

import math

SUMMARY = "Character LSTM on Tiny Shakespeare, torch or the NumPy LSTM; generate samples"

DEFAULTS = {
    "epochs": 8,
    "batch_size": 32,  # parallel streams
    "lr": 2e-3,
    "seq_len": 100,  # T: steps of backpropagation through time
    "hidden": 512,
    "layers": 1,
    "embedding": 128,
    "dropout": 0.2,  # on the LSTM output: the train / validation gap opens within 5 epochs
    "weight_decay": 0.01,
    "warmup_steps": 100,
    "final_lr": 0.1,  # fraction of the peak left at the end of the cosine
    "clip_norm": 1.0,
    "sample_length": 500,
    "precision": "fp32",  # bf16 autocast was slower for these LSTM steps on the CPU measured
}

# The NumPy LSTM: a smaller model and shorter chunks (its Python loop over time steps costs
# per step, not per character), no dropout; about two minutes on two cores.
NUMPY_DEFAULTS = {**DEFAULTS, "epochs": 3, "batch_size": 32, "lr": 5e-3, "seq_len": 50,
                  "hidden": 256, "dropout": 0.0, "warmup_steps": 50}

VAL_FRACTION = 0.1
MODEL_INFO = "model.json"  # what generate needs to rebuild the model: vocabulary, sizes


def defaults_for(config) -> dict:
    return NUMPY_DEFAULTS if config.backend == "numpy" else DEFAULTS


# ----------------------------------------------------------------------------- data


def encode_text(text: str):
    """(vocabulary string, int64 array of character indices)."""
    import numpy as np

    vocabulary = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocabulary)}
    return vocabulary, np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))


def split_text(codes, val_fraction: float = VAL_FRACTION):
    cut = int(len(codes) * (1 - val_fraction))
    return codes[:cut], codes[cut:]


def unigram_loss(train, val, vocab_size: int) -> float:
    """Cross-entropy (nats/char) of the validation text under the training character
    frequencies (add-one smoothed, so an unseen character costs a finite amount)."""
    import numpy as np

    counts = np.bincount(train, minlength=vocab_size) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[val].mean())


def streams(codes, n_streams: int, offset: int = 0):
    """Inputs and next-character targets as (n_streams, L) arrays of contiguous stretches."""
    usable = (len(codes) - 1 - offset) // n_streams * n_streams
    x = codes[offset:offset + usable].reshape(n_streams, -1)
    y = codes[offset + 1:offset + 1 + usable].reshape(n_streams, -1)
    return x, y


def batches_per_epoch(n_chars: int, n_streams: int, seq_len: int) -> int:
    """Chunks per stream, leaving room for the random start offset (< seq_len)."""
    from solver.train.torch_utils import SetupError

    steps = (n_chars - 1 - seq_len) // n_streams // seq_len
    if steps < 1:
        raise SetupError(f"{n_chars} training characters are too few for {n_streams} streams "
                         f"of {seq_len}-character chunks: lower --batch-size or raise --limit")
    return steps


def lr_factor(step: int, total: int, warmup: int, final: float) -> float:
    """Linear warm-up, then a cosine from 1 down to `final`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress))


# ----------------------------------------------------------------------------- torch model


def char_model(vocab_size: int, embedding: int, hidden: int, layers: int, dropout: float):
    from torch import nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embedding)
            self.lstm = nn.LSTM(embedding, hidden, layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden, vocab_size)

        def forward(self, codes, state=None):
            """codes (N, T) → logits (N, T, V) and the state to carry into the next chunk."""
            out, state = self.lstm(self.embed(codes), state)
            return self.head(self.drop(out)), state

    return CharLSTM()


def train(config) -> dict:
    from solver.train.data import load_shakespeare

    config = config.with_defaults(defaults_for(config))
    text = load_shakespeare(config.data_dir)
    if config.backend == "numpy":
        return train_numpy(config, text)
    return train_torch(config, text)


def train_torch(config, text: str) -> dict:
    import time

    import torch
    import torch.nn.functional as F

    from solver.output import write_json
    from solver.train.generate import sample_torch
    from solver.train.runs import check_interrupt
    from solver.train.torch_utils import (SetupError, all_reduce_sum, count_parameters,
                                          epoch_generator, load_checkpoint, open_run,
                                          save_checkpoint, save_model, training_session, wrap_ddp)

    options = config.extra
    with training_session(config, options["precision"]) as env:
        vocabulary, codes = encode_text(text)
        train_codes, val_codes = split_text(codes)
        if config.limit:
            train_codes = train_codes[:config.limit]
        baseline = unigram_loss(train_codes, val_codes, len(vocabulary))
        run = open_run(config, env)
        info = {"backend": "torch", "vocabulary": vocabulary, "embedding": options["embedding"],
                "hidden": options["hidden"], "layers": options["layers"]}
        model = char_model(len(vocabulary), options["embedding"], options["hidden"],
                           options["layers"], options["dropout"]).to(env.device)
        ddp = wrap_ddp(model, env)
        decay = [p for p in model.parameters() if p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.ndim <= 1]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": options["weight_decay"]},
                                       {"params": no_decay, "weight_decay": 0.0}],
                                      lr=config.lr, betas=(0.9, 0.99))
        seq_len, n_streams = options["seq_len"], config.batch_size
        if n_streams % env.world_size:
            raise SetupError(f"--batch-size {n_streams} must be a multiple of the "
                             f"{env.world_size} processes")
        mine = slice(env.rank * n_streams // env.world_size,
                     (env.rank + 1) * n_streams // env.world_size)
        steps = batches_per_epoch(len(train_codes), n_streams, seq_len)
        total_steps = steps * config.epochs

        first_epoch, elapsed, val_loss = 1, 0.0, None
        checkpoint = load_checkpoint(run, config, env)
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            first_epoch, elapsed = checkpoint["epoch"] + 1, checkpoint["elapsed_s"]

        for epoch in range(first_epoch, config.epochs + 1):
            started = time.perf_counter()
            generator = epoch_generator(config.seed, epoch)
            torch.manual_seed(config.seed * 1_000_003 + epoch * 101 + env.rank)  # dropout
            offset = int(torch.randint(seq_len, (1,), generator=generator))
            x_all, y_all = streams(train_codes, n_streams, offset)
            x_all = torch.from_numpy(x_all[mine]).to(env.device)
            y_all = torch.from_numpy(y_all[mine]).to(env.device)
            state, loss_sum = None, torch.zeros((), device=env.device)
            model.train()
            with run.progress(steps, f"epoch {epoch}/{config.epochs}") as bar:
                for step in range(steps):
                    factor = lr_factor((epoch - 1) * steps + step, total_steps,
                                       options["warmup_steps"], options["final_lr"])
                    for group in optimizer.param_groups:
                        group["lr"] = config.lr * factor
                    chunk = slice(step * seq_len, (step + 1) * seq_len)
                    if state is not None:  # keep the values, cut the gradient path
                        state = tuple(s.detach() for s in state)
                    with env.autocast():
                        logits, state = ddp(x_all[:, chunk], state)
                    loss = F.cross_entropy(logits.float().flatten(0, 1), y_all[:, chunk].flatten())
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), options["clip_norm"])
                    optimizer.step()
                    loss_sum += loss.detach()
                    if (step + 1) % 10 == 0 or step + 1 == steps:
                        bar.advance((step % 10) + 1, loss=loss_sum.item() / (step + 1))
            elapsed += time.perf_counter() - started
            train_loss = all_reduce_sum(env, [loss_sum.item() / steps])[0] / env.world_size
            val_loss = evaluate(model, val_codes, env)
            run.log_epoch(epoch, train_loss=train_loss, val_loss=val_loss,
                          elapsed_s=round(elapsed, 2))
            save_checkpoint(run, env, {"epoch": epoch, "elapsed_s": elapsed,
                                       "model": model.state_dict(),
                                       "optimizer": optimizer.state_dict()})
            check_interrupt(config, epoch)

        if val_loss is None:  # resumed after the last epoch: nothing was evaluated yet
            val_loss = evaluate(model, val_codes, env)
        final = {"val_loss": val_loss,
                 "unigram_val_loss": baseline, "train_time_s": round(elapsed, 2),
                 "epochs": config.epochs, "train_chars": int(len(train_codes))}
        final["val_bits_per_char"] = final["val_loss"] / math.log(2)
        model_file = save_model(run, env, model)
        if env.is_main:
            write_json(run.path(MODEL_INFO), info)
            sample = sample_torch(model, vocabulary, "ROMEO:", options["sample_length"], 0.8,
                                  config.seed, env.device)
            run.finish(final, model_file, [
                ("Model", f"Embedding {options['embedding']} → {options['layers']}-layer LSTM "
                          f"with {options['hidden']} units → linear to {len(vocabulary)} "
                          f"characters: {count_parameters(model):,} parameters. AdamW, peak lr "
                          f"{config.lr:g}, {n_streams} streams × {seq_len} steps per batch. "
                          f"Trained on {env.describe()}."),
                ("Baseline", unigram_section(final)),
                ("Sample", sample_section(sample)),
            ])
        return {**final, "run_dir": str(run.dir)}


def evaluate(model, val_codes, env, n_streams: int = 16, chunk: int = 500) -> float:
    """Mean next-character loss over the validation text, read as a few long streams with
    the state carried across chunks (as in training); each process scores its own streams."""
    import torch
    import torch.nn.functional as F

    from solver.train.torch_utils import all_reduce_sum

    x_all, y_all = streams(val_codes, n_streams)
    rank, size = env.rank, env.world_size
    mine = slice(rank * n_streams // size, (rank + 1) * n_streams // size)
    x_all = torch.from_numpy(x_all[mine]).to(env.device)
    y_all = torch.from_numpy(y_all[mine]).to(env.device)
    model.eval()
    total, state = 0.0, None
    with torch.no_grad(), env.autocast():
        for start in range(0, x_all.shape[1], chunk):
            logits, state = model(x_all[:, start:start + chunk], state)
            targets = y_all[:, start:start + chunk].flatten()
            total += F.cross_entropy(logits.float().flatten(0, 1), targets, reduction="sum").item()
    model.train()
    total, count = all_reduce_sum(env, [total, float(y_all.numel())])
    return total / count


def unigram_section(final: dict) -> str:
    return (f"Unigram baseline (training-set character frequencies): "
            f"{final['unigram_val_loss']:.3f} nats/char on the validation text. "
            f"The model: {final['val_loss']:.3f} nats/char "
            f"({final['val_bits_per_char']:.3f} bits/char).")


def sample_section(sample: str) -> str:
    return ("Temperature 0.8, prompt `ROMEO:` (`dlsolve generate RUN_DIR` for more):\n\n"
            + "\n".join("    " + line for line in sample.splitlines()))


# ----------------------------------------------------------------------------- NumPy backend


class NumpyCharLSTM:
    """One-hot characters → the course's NumPy LSTM → linear layer → softmax cross-entropy.

    The same interface as the course's models: forward, get_loss, backward, step,
    zero_grads; the LSTM state of the last chunk is kept for the next one.
    """

    def __init__(self, vocab_size: int, hidden: int, lr: float, weight_decay: float, seed: int):
        import numpy as np

        from solver.nn.linear import Linear
        from solver.nn.loss import SoftmaxCrossEntropy
        from solver.nn.lstm import LSTM
        from solver.nn.optim import Adam

        rng = np.random.default_rng(seed)
        self.vocab_size, self.hidden = vocab_size, hidden
        self.lstm = LSTM(vocab_size, hidden, init="xavier", rng=rng)
        # Forget-gate bias 1: the cell starts by keeping its memory, which lets gradients
        # reach back further early in training (gate order i, f, g, o).
        self.lstm.params["b"][hidden:2 * hidden] = 1.0
        self.head = Linear(hidden, vocab_size, init="xavier", rng=rng)
        self.criterion = SoftmaxCrossEntropy()
        self.layers = [self.lstm, self.head]
        self.optimizer = Adam(self.layers, lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay)
        self.state = None

    def forward(self, codes):
        """codes (N, T) → logits (T·N, V), time-major; carries the LSTM state onward."""
        import numpy as np

        n, steps = codes.shape
        one_hot = np.zeros((steps, n, self.vocab_size), dtype=np.float32)
        one_hot[np.arange(steps)[:, None], np.arange(n)[None, :], codes.T] = 1.0
        hs = self.lstm.forward(one_hot, self.state)
        self.state = self.lstm.last_state
        self._shape = hs.shape
        self.logits = self.head.forward(hs.reshape(steps * n, self.hidden))
        return self.logits

    def get_loss(self, targets) -> float:
        return self.criterion.forward(self.logits, targets.T.reshape(-1))

    def backward(self) -> None:
        grad_hs = self.head.backward(self.criterion.backward()).reshape(self._shape)
        self.lstm.backward(grad_hs)

    def step(self, clip_norm: float) -> None:
        from solver.nn.optim import clip_grad_norm

        clip_grad_norm(self.layers, clip_norm)
        self.optimizer.step()

    def zero_grads(self) -> None:
        for layer in self.layers:
            layer.zero_grads()

    def state_dict(self) -> dict:
        return {"lstm": dict(self.lstm.params), "head": dict(self.head.params)}

    def load_state_dict(self, state: dict) -> None:
        for layer, name in ((self.lstm, "lstm"), (self.head, "head")):
            for key, value in state[name].items():
                layer.params[key][...] = value


def evaluate_numpy(model: NumpyCharLSTM, val_codes, n_streams: int = 16, chunk: int = 200) -> float:
    x_all, y_all = streams(val_codes, n_streams)
    model.state, total = None, 0.0
    for start in range(0, x_all.shape[1], chunk):
        model.forward(x_all[:, start:start + chunk])
        total += model.get_loss(y_all[:, start:start + chunk]) * y_all[:, start:start + chunk].size
    model.state = None
    return total / y_all.size


def train_numpy(config, text: str) -> dict:
    import time

    import numpy as np

    from solver.output import atomic_path, write_json
    from solver.train.generate import sample_numpy
    from solver.train.runs import Run, check_interrupt
    from solver.train.tasks._numpy_loop import resume

    options = config.extra
    vocabulary, codes = encode_text(text)
    train_codes, val_codes = split_text(codes)
    if config.limit:
        train_codes = train_codes[:config.limit]
    baseline = unigram_loss(train_codes, val_codes, len(vocabulary))
    run = Run.create(config.out, config.task, config.as_dict(), config.resume)
    model = NumpyCharLSTM(len(vocabulary), options["hidden"], config.lr,
                          0.0, config.seed)
    seq_len, n_streams = options["seq_len"], config.batch_size
    steps = batches_per_epoch(len(train_codes), n_streams, seq_len)
    total_steps = steps * config.epochs

    first_epoch, elapsed = resume(run, model)
    val_loss = None

    for epoch in range(first_epoch, config.epochs + 1):
        started = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        x_all, y_all = streams(train_codes, n_streams, int(rng.integers(seq_len)))
        model.state, loss_sum = None, 0.0
        with run.progress(steps, f"epoch {epoch}/{config.epochs}") as bar:
            for step in range(steps):
                model.optimizer.lr = config.lr * lr_factor(
                    (epoch - 1) * steps + step, total_steps, options["warmup_steps"],
                    options["final_lr"])
                chunk = slice(step * seq_len, (step + 1) * seq_len)
                model.zero_grads()
                model.forward(x_all[:, chunk])
                loss_sum += model.get_loss(y_all[:, chunk])
                model.backward()
                model.step(options["clip_norm"])
                bar.advance(loss=loss_sum / (step + 1))
        elapsed += time.perf_counter() - started
        val_loss = evaluate_numpy(model, val_codes)
        run.log_epoch(epoch, train_loss=loss_sum / steps, val_loss=val_loss,
                      elapsed_s=round(elapsed, 2))
        run.save_checkpoint({"epoch": epoch, "elapsed_s": elapsed, "model": model.state_dict(),
                             "optimizer": model.optimizer.state_dict()})
        check_interrupt(config, epoch)

    if val_loss is None:
        val_loss = evaluate_numpy(model, val_codes)
    final = {"val_loss": val_loss, "unigram_val_loss": baseline,
             "train_time_s": round(elapsed, 2), "epochs": config.epochs,
             "train_chars": int(len(train_codes))}
    final["val_bits_per_char"] = final["val_loss"] / math.log(2)
    flat = {f"{layer}.{key}": value for layer, params in model.state_dict().items()
            for key, value in params.items()}
    with atomic_path(run.path("model.npz")) as temp:
        np.savez(temp, **flat)
    write_json(run.path(MODEL_INFO), {"backend": "numpy", "vocabulary": vocabulary,
                                      "hidden": options["hidden"], "layers": 1})
    sample = sample_numpy(flat, vocabulary, "ROMEO:", options["sample_length"], 0.8, config.seed)
    run.finish(final, "model.npz", [
        ("Model", f"The NumPy LSTM of solver/nn ({options['hidden']} units) on one-hot "
                  f"characters, then a linear layer to {len(vocabulary)} characters; Adam, peak "
                  f"lr {config.lr:g}, {n_streams} streams × {seq_len} steps per batch, trained "
                  f"on {len(train_codes):,} characters."),
        ("Baseline", unigram_section(final)),
        ("Sample", sample_section(sample)),
    ])
    return {**final, "run_dir": str(run.dir)}

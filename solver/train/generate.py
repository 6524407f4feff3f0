"""Sampling text from a trained character model (a shakespeare-lstm run folder).

The prompt is fed through the network to set its state; then each next character is drawn
from softmax(logits / temperature) and fed back in. Temperature below 1 sharpens the
distribution (safer, more repetitive text), above 1 flattens it (wilder text, more typos).
"""

from __future__ import annotations

import json
from pathlib import Path

from solver.train.data import DataError

MODEL_INFO = "model.json"


def generate(run_dir: Path, prompt: str, length: int, temperature: float,
             seed: int | None = None) -> str:
    """The prompt followed by `length` sampled characters, from the model in run_dir."""
    run_dir = Path(run_dir)
    info_path = run_dir / MODEL_INFO
    if not info_path.is_file():
        raise DataError(f"{run_dir}: no {MODEL_INFO}; is this a finished shakespeare-lstm run?")
    info = json.loads(info_path.read_text())
    if temperature <= 0:
        raise DataError("temperature must be positive")
    if info["backend"] == "numpy":
        import numpy as np

        with np.load(run_dir / "model.npz", allow_pickle=False) as stored:
            params = {key: stored[key] for key in stored.files}
        return sample_numpy(params, info["vocabulary"], prompt, length, temperature, seed)

    import torch

    from solver.train.tasks.shakespeare_lstm import char_model

    model = char_model(len(info["vocabulary"]), info["embedding"], info["hidden"],
                       info["layers"], 0.0)
    model.load_state_dict(torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True))
    return sample_torch(model, info["vocabulary"], prompt, length, temperature, seed)


def encode_prompt(prompt: str, vocabulary: str) -> list[int]:
    """Character indices of the prompt; a newline stands in for an empty one."""
    unknown = sorted(set(prompt) - set(vocabulary))
    if unknown:
        raise DataError(f"prompt characters not in the model's vocabulary: {''.join(unknown)!r}")
    return [vocabulary.index(c) for c in (prompt or "\n")]


def sample_torch(model, vocabulary: str, prompt: str, length: int, temperature: float,
                 seed: int | None, device=None) -> str:
    import torch

    device = device or torch.device("cpu")
    generator = torch.Generator(device="cpu")
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    codes = encode_prompt(prompt, vocabulary)
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        logits, state = model(torch.tensor([codes], device=device))
        for _ in range(length):
            probs = torch.softmax(logits[0, -1].float().cpu() / temperature, dim=0)
            code = int(torch.multinomial(probs, 1, generator=generator))
            out.append(vocabulary[code])
            logits, state = model(torch.tensor([[code]], device=device), state)
    model.train(was_training)
    return prompt + "".join(out)


def sample_numpy(params: dict, vocabulary: str, prompt: str, length: int, temperature: float,
                 seed: int | None) -> str:
    """Sampling from the NumPy model's arrays ('lstm.Wx', 'lstm.Wh', 'lstm.b', 'head.W',
    'head.b'), stepping the same LSTMCell that was trained, on one-hot characters."""
    import numpy as np

    from solver.nn.lstm import LSTMCell

    rng = np.random.default_rng(seed)
    vocab_size, four_hidden = params["lstm.Wx"].shape
    cell = LSTMCell(vocab_size, four_hidden // 4)
    cell.params.update(Wx=params["lstm.Wx"], Wh=params["lstm.Wh"], b=params["lstm.b"])
    head_w, head_b = params["head.W"], params["head.b"]
    one_hot = np.eye(vocab_size)
    h = np.zeros((1, four_hidden // 4))
    c = np.zeros((1, four_hidden // 4))

    def step(code, h, c):
        h, c, _ = cell.step(one_hot[code:code + 1], h, c)
        return h, c

    for code in encode_prompt(prompt, vocabulary):
        h, c = step(code, h, c)
    out = []
    for _ in range(length):
        logits = (h[0] @ head_w + head_b) / temperature
        probs = np.exp(logits - logits.max())
        code = int(rng.choice(len(vocabulary), p=probs / probs.sum()))
        out.append(vocabulary[code])
        h, c = step(code, h, c)
    return prompt + "".join(out)

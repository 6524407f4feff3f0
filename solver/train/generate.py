"""Sampling text from a trained character model (a shakespeare-lstm run folder).

The prompt is fed through the network to set its state; then each next character is drawn
from softmax(logits / temperature) and fed back in. Temperature below 1 sharpens the
distribution (safer, more repetitive text), above 1 flattens it (wilder text, more typos).
"""

from __future__ import annotations

import json
import zipfile
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
    info = _read_info(info_path)
    if temperature <= 0:
        raise DataError("temperature must be positive")
    if info["backend"] == "numpy":
        import numpy as np

        try:
            with np.load(run_dir / "model.npz", allow_pickle=False) as stored:
                params = {key: stored[key] for key in stored.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise DataError(f"{run_dir / 'model.npz'}: not a readable model ({error})") from None
        try:
            return sample_numpy(params, info["vocabulary"], prompt, length, temperature, seed)
        except (KeyError, ValueError, IndexError) as error:
            raise DataError(f"{run_dir / 'model.npz'}: the weights do not fit {MODEL_INFO} ({error})") from None

    import torch

    from solver.train.tasks.shakespeare_lstm import char_model

    model = char_model(len(info["vocabulary"]), info["embedding"], info["hidden"],
                       info["layers"], 0.0)
    try:  # weights_only: PyTorch's restricted loader, which builds tensors and nothing else
        state = torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as error:  # noqa: BLE001 - any damaged or foreign file is the same message
        raise DataError(f"{run_dir / 'model.pt'}: not a readable model for {MODEL_INFO} "
                        f"({type(error).__name__}: {str(error)[:160]})") from None
    return sample_torch(model, info["vocabulary"], prompt, length, temperature, seed)


# Sizes a char model of this module never exceeds; larger ones in model.json are refused
# before anything is allocated.
_INFO_LIMITS = {"embedding": 4096, "hidden": 8192, "layers": 16}


def _read_info(path: Path) -> dict:
    """model.json, checked: a run folder may come from anywhere."""
    try:
        info = json.loads(path.read_text(encoding="utf-8")[:1_000_000])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(info, dict) or info.get("backend") not in ("numpy", "torch"):
        raise DataError(f"{path}: expected an object with backend numpy or torch")
    vocabulary = info.get("vocabulary")
    if not isinstance(vocabulary, str) or not 0 < len(vocabulary) <= 100_000:
        raise DataError(f"{path}: vocabulary must be a non-empty text")
    if info["backend"] == "torch":
        for name, limit in _INFO_LIMITS.items():
            value = info.get(name)
            if type(value) is not int or not 1 <= value <= limit:
                raise DataError(f"{path}: {name} must be a whole number from 1 to {limit}")
    return info


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

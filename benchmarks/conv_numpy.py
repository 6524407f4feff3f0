"""NumPy Conv2d forward + backward: vectorised (im2col) vs a naive loop vs PyTorch on CPU.

Layer sizes are LeNet-5's two convolutions on MNIST. Prints a Markdown table of milliseconds
per batch (median of the repeats) and the largest difference between the three results.

    python benchmarks/conv_numpy.py [--batch 64] [--repeats 20] [--threads 1]

On a shared machine, set --threads 1 and read the load average printed with the table:
multi-threaded BLAS slows down badly when other processes hold the cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

LAYERS = {  # name: (in channels, out channels, kernel, padding, input size)
    "conv1 1→6 5×5 pad 2, 28×28": (1, 6, 5, 2, 28),
    "conv2 6→16 5×5, 14×14": (6, 16, 5, 0, 14),
}


def naive_conv_forward_backward(x, weight, bias, padding, grad_out):
    """Loops over samples and output pixels: the textbook definition, one window at a time."""
    import numpy as np

    n, _, h, w = x.shape
    f, _, k, _ = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    out = np.empty((n, f, h_out, w_out), dtype=x.dtype)
    grad_w, grad_xp = np.zeros_like(weight), np.zeros_like(xp)
    for s in range(n):
        for i in range(h_out):
            for j in range(w_out):
                window = xp[s, :, i:i + k, j:j + k]
                out[s, :, i, j] = np.tensordot(weight, window, axes=3) + bias
                g = grad_out[s, :, i, j]
                grad_w += g[:, None, None, None] * window
                grad_xp[s, :, i:i + k, j:j + k] += np.tensordot(g, weight, axes=1)
    grad_b = grad_out.sum(axis=(0, 2, 3))
    return out, grad_xp[:, :, padding:padding + h, padding:padding + w], grad_w, grad_b


def relative_diff(a, b) -> float:
    """Largest difference relative to the largest value: float32 sums of thousands of terms
    differ in their last digits depending on the order of summation."""
    import numpy as np

    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def naive_w(layer, x, grad_out, nb):
    """The vectorised weight gradient over the naive loop's first samples only."""
    layer.zero_grads()
    layer.forward(x[:nb])
    layer.backward(grad_out[:nb])
    return layer.grads["W"]


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--naive-batch", type=int, default=4, help="the loop is slow: fewer samples, scaled up")
    parser.add_argument("--threads", type=int, default=None, help="BLAS and torch threads")
    args = parser.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)

    import numpy as np
    import torch

    from solver.nn.conv import Conv2d

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, threads {args.threads or 'default'}, batch {args.batch}, float32")
    print()
    print("| layer | NumPy im2col (ms) | naive loop (ms, scaled) | torch CPU (ms) | loop / im2col | im2col / torch | max rel. diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for name, (c_in, c_out, k, pad, size) in LAYERS.items():
        x = rng.standard_normal((args.batch, c_in, size, size)).astype(np.float32)
        layer = Conv2d(c_in, c_out, k, padding=pad, rng=rng)
        out_size = size + 2 * pad - k + 1
        grad_out = rng.standard_normal((args.batch, c_out, out_size, out_size)).astype(np.float32)

        def ours():
            layer.zero_grads()
            layer.forward(x)
            return layer.backward(grad_out)

        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(layer.params["W"], requires_grad=True)
        bt = torch.tensor(layer.params["b"], requires_grad=True)
        gt = torch.tensor(grad_out)

        def reference():
            xt.grad = wt.grad = bt.grad = None
            torch.nn.functional.conv2d(xt, wt, bt, padding=pad).backward(gt)

        nb = args.naive_batch
        naive = lambda: naive_conv_forward_backward(  # noqa: E731
            x[:nb], layer.params["W"], layer.params["b"], pad, grad_out[:nb])
        t_ours, t_torch = timed(ours, args.repeats), timed(reference, args.repeats)
        t_naive = timed(naive, max(1, args.repeats // 10)) * args.batch / nb

        grad_x = ours()
        reference()
        naive_out = naive()
        diff = max(relative_diff(grad_x, xt.grad.numpy()),
                   relative_diff(layer.grads["W"], wt.grad.numpy()),
                   relative_diff(naive_out[1], grad_x[:nb]), relative_diff(naive_out[2], naive_w(layer, x, grad_out, nb)))
        print(f"| {name} | {t_ours:.2f} | {t_naive:.0f} | {t_torch:.2f} | "
              f"{t_naive / t_ours:.0f} | {t_ours / t_torch:.2f} | {diff:.1e} |")
    load_after = os.getloadavg()
    print()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""One training step of a recurrent layer in PyTorch on the CPU, the peer of TrainingBench.

Run with Debian's system python3 (python3-torch):

    /usr/bin/python3 bench/train_peer.py [--threads 1,2] [--cells lstm,gru] [--seconds 10]

The step is TrainingBench's: N=32, T=64, I=H=256, time-major, forward in training mode, then
backward of the sum of the outputs to every weight gradient and to the input (x requires grad, as
the jrnn engines compute dx too). Prints per cell and thread count the median, min and max time
of one step and GFLOP/s at 3× the forward FLOPs, 2·T·N·G·H·(I+H), the same count as the JMH
benchmark.
"""

import argparse
import statistics
import time

import torch

T, N, I, H = 64, 32, 256, 256
GATES = {"lstm": 4, "gru": 3}


def step(model, x):
    y, _ = model(x)
    y.sum().backward()
    model.zero_grad(set_to_none=True)
    x.grad = None


def measure(cell, threads, seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H)
    x = torch.rand(T, N, I) * 2 - 1
    x.requires_grad_(True)
    end = time.perf_counter() + min(3.0, seconds / 3)
    while time.perf_counter() < end:  # warm-up
        step(model, x)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.perf_counter()
        step(model, x)
        times.append(time.perf_counter() - t0)
    flop = 3 * 2 * T * N * GATES[cell] * H * (I + H)
    med = statistics.median(times)
    return med, min(times), max(times), flop / med / 1e9, len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.__config__.parallel_info().splitlines()[0]}")
    print("cell  threads  median ms    min ms    max ms  GFLOP/s  steps")
    for cell in a.cells.split(","):
        for t in a.threads.split(","):
            med, lo, hi, gflops, n = measure(cell, int(t), a.seconds)
            print(f"{cell:5} {t:>7} {med * 1e3:10.2f} {lo * 1e3:9.2f} {hi * 1e3:9.2f} {gflops:8.1f}  {n:5}")


if __name__ == "__main__":
    main()

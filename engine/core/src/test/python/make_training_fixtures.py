#!/usr/bin/python3
"""Writes the training fixtures: losses, optimizers and learning-rate schedules from PyTorch.

Run with Debian's system python3, which has python3-torch (1.13):

    /usr/bin/python3 engine/core/src/test/python/make_training_fixtures.py

Under engine/core/src/test/resources/fixtures/training/:

losses/<case>.safetensors
    "y" (F32 logits or predictions), "target" (I32 class ids or F32), "lengths" (I32, sequence
    cases), "dy" (F32, the expected dL/dy); metadata "config": the loss spec and "expected_loss",
    the loss as a double. Inputs are drawn in float64 and rounded to float32 so that both sides
    see the same values; the loss and gradient come from torch autograd in float64. Sequence cases
    take the loss of the packed sequence: the positions t < lengths[n] selected by a mask, so
    padded positions get a zero gradient; their targets are garbage on purpose.

optimizers/<case>.safetensors
    A toy problem over three float32 weights ("enc.W" [5, 7], "enc.b" [5], "head.v" [19]) with
    data "data.X" [6, 7], "data.Y" [6, 5], "data.t" [19] (sizes that run whole 16-float vectors
    and tails in the kernels):
        R = X W^T + b - Y
        L = sum(R^2) / 12 + 0.1 sum(tanh(W)) + sum((tanh(v) - t)^2)
    Gradients are computed in double from the float32 weights in the loop order the Java test
    uses, then rounded to float32, and handed to the torch optimizer (float32 parameters). After
    the gradient: clip_grad_value_, clip_grad_norm_, optimizer.step(), scheduler.step(). Tensors
    "init.<w>", "grads.<w>" [20, ...] (the gradient of each step, before clipping) and
    "after.<w>" [20, ...] (the weight after each step); metadata "config": the optimizer spec and
    "norms", the global gradient norm before clipping at each step, in double.

schedules.json
    Learning-rate factors of 30 steps (base lr 1) per case, read from torch schedulers stepped
    once per optimizer step: StepLR, CosineAnnealingLR; the linear warm-up is LinearLR with
    start_factor=0 in its closed form (its recursive form stays at 0 from a start of 0), multiplied
    into the other schedule as ChainedScheduler does.
"""

import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "training")
F = torch.nn.functional


def f32(a):
    """float64 values exactly representable in float32."""
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


# ----------------------------------------------------------------------------------------- losses


def loss_case(rng, name, kind, shape, *, reduction="mean", weights=None, ignore=None,
              lengths=None, batch_first=False, delta=1.0):
    """One loss fixture. shape is the output's; lengths (a list) makes it a padded sequence."""
    y = f32(rng.normal(0, 2, shape))
    if kind == "ce":
        c = shape[-1]
        target = rng.integers(0, c, shape[:-1])
        if ignore is not None:
            target[rng.random(shape[:-1]) < 0.3] = ignore
    elif kind == "bce":
        y[..., 0] = f32(rng.choice([-40.0, 40.0, -8.0, 8.0], shape[:-1]))  # saturated logits
        target = f32(rng.random(shape))
        target[..., 1] = np.round(target[..., 1])  # hard labels too
    else:
        target = f32(rng.normal(0, 2, shape))
        flat = target.reshape(-1)
        flat[::7] = y.reshape(-1)[::7]  # exact ties: |d| = 0
        if kind == "huber":
            flat[1::5] = y.reshape(-1)[1::5] + delta  # at delta, up to rounding
        target = f32(target)
    mask = None
    if lengths is not None:
        T, N = (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
        tt = np.arange(T)
        m = tt[:, None] < np.asarray(lengths)[None, :]  # [T, N]
        mask = m.T if batch_first else m
        garbage = 99 if kind == "ce" else np.nan  # padded targets are never looked at
        if kind == "ce":
            target[~mask] = garbage
        else:
            target[~mask] = garbage

    yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    tt_ = torch.tensor(target, dtype=torch.int64 if kind == "ce" else torch.float64)
    ys, ts = (yt, tt_) if mask is None else (yt[torch.tensor(mask)], tt_[torch.tensor(mask)])
    if kind == "ce":
        c = shape[-1]
        w = None if weights is None else torch.tensor(f32(weights), dtype=torch.float64)
        loss = F.cross_entropy(ys.reshape(-1, c), ts.reshape(-1), weight=w,
                               ignore_index=-100 if ignore is None else ignore, reduction=reduction)
    elif kind == "bce":
        loss = F.binary_cross_entropy_with_logits(ys, ts, reduction=reduction)
    elif kind == "mse":
        loss = F.mse_loss(ys, ts, reduction=reduction)
    elif kind == "mae":
        loss = F.l1_loss(ys, ts, reduction=reduction)
    else:
        loss = F.huber_loss(ys, ts, reduction=reduction, delta=delta)
    loss.backward()
    config = {"loss": kind, "reduction": reduction, "batch_first": batch_first,
              "expected_loss": float(loss)}
    if kind == "huber":
        config["delta"] = delta
    if weights is not None:
        config["class_weights"] = [float(v) for v in f32(weights)]
    if ignore is not None:
        config["ignore_index"] = int(ignore)
    tensors = {"y": y.astype(np.float32),
               "target": target.astype(np.int32) if kind == "ce" else target.astype(np.float32),
               "dy": yt.grad.numpy()}
    if lengths is not None:
        tensors["lengths"] = np.asarray(lengths, dtype=np.int32)
    write_safetensors(os.path.join(OUT, "losses", name + ".safetensors"), tensors,
                      {"config": json.dumps(config)})
    return name


def losses():
    os.makedirs(os.path.join(OUT, "losses"), exist_ok=True)
    rng = np.random.default_rng(7)
    w5 = [0.5, 2.0, 1.0, 0.25, 3.0]
    w4 = [1.5, 0.5, 2.0, 1.0]
    names = [
        loss_case(rng, "ce", "ce", (6, 5)),
        loss_case(rng, "ce_sum", "ce", (6, 5), reduction="sum"),
        loss_case(rng, "ce_rank4", "ce", (2, 3, 4, 5)),
        loss_case(rng, "ce_weights", "ce", (8, 5), weights=w5),
        loss_case(rng, "ce_weights_sum", "ce", (8, 5), weights=w5, reduction="sum"),
        loss_case(rng, "ce_ignore_class", "ce", (9, 5), ignore=2),
        loss_case(rng, "ce_ignore_pad", "ce", (9, 5), ignore=-1, weights=w5),
        loss_case(rng, "ce_ignore_sum", "ce", (9, 5), ignore=-100, reduction="sum"),
        loss_case(rng, "ce_seq", "ce", (5, 3, 4), lengths=[5, 2, 0]),
        loss_case(rng, "ce_seq_sum", "ce", (5, 3, 4), lengths=[3, 5, 1], reduction="sum"),
        loss_case(rng, "ce_seq_batch_first", "ce", (3, 6, 4), lengths=[4, 6, 1], batch_first=True,
                  weights=w4, ignore=0),
        loss_case(rng, "ce_seq_rank4", "ce", (4, 2, 3, 5), lengths=[2, 4]),
        loss_case(rng, "bce", "bce", (4, 6)),
        loss_case(rng, "bce_sum", "bce", (4, 6), reduction="sum"),
        loss_case(rng, "bce_seq_batch_first", "bce", (3, 5, 2), lengths=[5, 0, 2],
                  batch_first=True),
        loss_case(rng, "mse", "mse", (5, 4)),
        loss_case(rng, "mse_sum", "mse", (5, 4), reduction="sum"),
        loss_case(rng, "mse_seq", "mse", (6, 2, 3), lengths=[4, 6]),
        loss_case(rng, "mae", "mae", (5, 4)),
        loss_case(rng, "mae_sum", "mae", (5, 4), reduction="sum"),
        loss_case(rng, "huber", "huber", (6, 5), delta=1.0),
        loss_case(rng, "huber_half", "huber", (6, 5), delta=0.5),
        loss_case(rng, "huber_two_sum", "huber", (6, 5), delta=2.0, reduction="sum"),
        loss_case(rng, "huber_seq_batch_first", "huber", (2, 5, 3), lengths=[3, 5],
                  batch_first=True, delta=0.75),
    ]
    with open(os.path.join(OUT, "losses", "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


# ------------------------------------------------------------------------------------- optimizers


def toy_grads(w):
    """The toy problem's gradients in double, loop by loop as the Java test computes them."""
    X, Y, t = DATA["data.X"], DATA["data.Y"], DATA["data.t"]
    W, b, v = w["enc.W"], w["enc.b"], w["head.v"]
    rows, outs, ins = X.shape[0], W.shape[0], W.shape[1]
    dW = [[0.0] * ins for _ in range(outs)]
    db = [0.0] * outs
    for i in range(rows):
        for j in range(outs):
            r = float(b[j]) - float(Y[i, j])
            for k in range(ins):
                r += float(X[i, k]) * float(W[j, k])
            db[j] += r / rows
            for k in range(ins):
                dW[j][k] += r * float(X[i, k]) / rows
    for j in range(outs):
        for k in range(ins):
            th = math.tanh(float(W[j, k]))
            dW[j][k] += 0.1 * (1 - th * th)
    dv = []
    for k in range(v.shape[0]):
        th = math.tanh(float(v[k]))
        dv.append(2 * (th - float(t[k])) * (1 - th * th))
    return {"enc.W": np.array(dW, dtype=np.float32), "enc.b": np.array(db, dtype=np.float32),
            "head.v": np.array(dv, dtype=np.float32)}


def make_data():
    rng = np.random.default_rng(11)
    global DATA, INIT
    DATA = {"data.X": rng.normal(0, 1, (6, 7)).astype(np.float32),
            "data.Y": rng.normal(0, 1, (6, 5)).astype(np.float32),
            "data.t": rng.uniform(-0.8, 0.8, 19).astype(np.float32)}
    INIT = {"enc.W": rng.normal(0, 0.5, (5, 7)).astype(np.float32),
            "enc.b": rng.normal(0, 1, 5).astype(np.float32),
            "head.v": rng.normal(0, 1.5, 19).astype(np.float32)}


def schedule_factor(s, k):
    """The closed form Java implements (for LambdaLR)."""
    if s["kind"] == "step":
        f = s["gamma"] ** (k // s["every"])
    elif s["kind"] == "cosine":
        lo = s["min"]
        f = lo if k >= s["total"] else lo + (1 - lo) * (1 + math.cos(math.pi * k / s["total"])) / 2
    else:
        f = 1.0
    w = s.get("warmup", 0)
    if k < w:
        f *= k / w
    return f


def optimizer_case(name, opt, lr, steps=20, schedule=None, clip_norm=None, clip_value=None,
                   **options):
    params = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in INIT.items()}
    plist = list(params.values())
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[opt]
    o = cls(plist, lr=lr, **options)
    sched = None
    if schedule is not None:
        if schedule["kind"] == "step" and not schedule.get("warmup"):
            sched = torch.optim.lr_scheduler.StepLR(o, step_size=schedule["every"],
                                                    gamma=schedule["gamma"])
        else:
            sched = torch.optim.lr_scheduler.LambdaLR(o, lambda k: schedule_factor(schedule, k))
    tensors = {"init." + k: v for k, v in INIT.items()}
    tensors.update(DATA)
    norms = []
    grads = {k: [] for k in params}
    after = {k: [] for k in params}
    for step in range(1, steps + 1):
        w = {k: p.detach().numpy() for k, p in params.items()}
        g = toy_grads(w)
        norms.append(math.sqrt(sum(float(np.sum(x.astype(np.float64) ** 2)) for x in g.values())))
        for k, p in params.items():
            p.grad = torch.tensor(g[k])
            grads[k].append(g[k])
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(plist, clip_value)
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(plist, clip_norm)
        o.step()
        if sched is not None:
            sched.step()
        for k, p in params.items():
            after[k].append(p.detach().numpy().copy())
    for k in params:
        tensors["grads." + k] = np.stack(grads[k])
        tensors["after." + k] = np.stack(after[k])
    config = {"optimizer": opt, "lr": lr, "steps": steps, "norms": norms}
    config.update(options)
    if schedule is not None:
        config["schedule"] = schedule
    if clip_norm is not None:
        config["clip_norm"] = clip_norm
    if clip_value is not None:
        config["clip_value"] = clip_value
    write_safetensors(os.path.join(OUT, "optimizers", name + ".safetensors"), tensors,
                      {"config": json.dumps(config)})
    return name


def optimizers():
    os.makedirs(os.path.join(OUT, "optimizers"), exist_ok=True)
    make_data()
    names = [
        optimizer_case("sgd", "sgd", 0.1),
        optimizer_case("sgd_momentum", "sgd", 0.05, momentum=0.9, dampening=0.1),
        optimizer_case("sgd_nesterov", "sgd", 0.05, momentum=0.9, nesterov=True),
        optimizer_case("sgd_weight_decay", "sgd", 0.1, weight_decay=0.05),
        optimizer_case("sgd_momentum_weight_decay", "sgd", 0.05, momentum=0.5, weight_decay=0.05),
        optimizer_case("adam", "adam", 0.05),
        optimizer_case("adam_options", "adam", 0.03, betas=(0.8, 0.99), eps=1e-6,
                       weight_decay=0.1),
        optimizer_case("adamw", "adamw", 0.05),
        optimizer_case("adamw_weight_decay", "adamw", 0.05, weight_decay=0.3, betas=(0.85, 0.95)),
        optimizer_case("rmsprop", "rmsprop", 0.01),
        optimizer_case("rmsprop_momentum", "rmsprop", 0.01, alpha=0.9, momentum=0.5),
        optimizer_case("rmsprop_centered", "rmsprop", 0.01, centered=True, weight_decay=0.01,
                       eps=1e-6),
        optimizer_case("rmsprop_centered_momentum", "rmsprop", 0.005, centered=True,
                       momentum=0.9),
        optimizer_case("adam_clip_norm", "adam", 0.05, clip_norm=0.5),
        optimizer_case("sgd_clip_norm", "sgd", 0.1, momentum=0.9, clip_norm=1.0),
        optimizer_case("sgd_clip_value", "sgd", 0.1, momentum=0.9, clip_value=0.3),
        optimizer_case("adamw_clip_both", "adamw", 0.05, clip_value=0.4, clip_norm=0.6),
        optimizer_case("sgd_step_schedule", "sgd", 0.1, momentum=0.9,
                       schedule={"kind": "step", "every": 5, "gamma": 0.5}),
        optimizer_case("adam_cosine_warmup", "adam", 0.05,
                       schedule={"kind": "cosine", "total": 20, "min": 0.1, "warmup": 5}),
        optimizer_case("rmsprop_warmup", "rmsprop", 0.01, momentum=0.5,
                       schedule={"kind": "constant", "warmup": 4}),
    ]
    with open(os.path.join(OUT, "optimizers", "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


# -------------------------------------------------------------------------------------- schedules


def factors(make, steps=30):
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=1.0)
    s = make(o)
    out = []
    for _ in range(steps):
        out.append(o.param_groups[0]["lr"])
        o.step()
        s.step()
    return out


def linear_warmup(steps, n=30):
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=1.0)
    s = torch.optim.lr_scheduler.LinearLR(o, start_factor=0.0, end_factor=1.0, total_iters=steps)
    out = []
    for k in range(n):
        s.last_epoch = k
        out.append(s._get_closed_form_lr()[0])
    return out


def schedules():
    lr = torch.optim.lr_scheduler
    step7 = factors(lambda o: lr.StepLR(o, step_size=7, gamma=0.5))
    cos30 = factors(lambda o: lr.CosineAnnealingLR(o, T_max=30, eta_min=0.1))
    cases = [
        {"name": "constant", "schedule": {"kind": "constant"}, "factors": [1.0] * 30},
        {"name": "step", "schedule": {"kind": "step", "every": 7, "gamma": 0.5},
         "factors": step7},
        {"name": "step_every_step", "schedule": {"kind": "step", "every": 1, "gamma": 0.9},
         "factors": factors(lambda o: lr.StepLR(o, step_size=1, gamma=0.9))},
        {"name": "cosine", "schedule": {"kind": "cosine", "total": 30, "min": 0.1},
         "factors": cos30},
        {"name": "cosine_to_zero", "schedule": {"kind": "cosine", "total": 29, "min": 0.0},
         "factors": factors(lambda o: lr.CosineAnnealingLR(o, T_max=29, eta_min=0.0))},
        {"name": "warmup", "schedule": {"kind": "constant", "warmup": 10},
         "factors": linear_warmup(10)},
        {"name": "cosine_warmup", "schedule": {"kind": "cosine", "total": 30, "min": 0.1,
                                               "warmup": 8},
         "factors": [a * b for a, b in zip(linear_warmup(8), cos30)]},
        {"name": "step_warmup", "schedule": {"kind": "step", "every": 7, "gamma": 0.5,
                                             "warmup": 3},
         "factors": [a * b for a, b in zip(linear_warmup(3), step7)]},
    ]
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    losses()
    optimizers()
    schedules()
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()

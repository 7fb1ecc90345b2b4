#!/usr/bin/python3
"""Writes model-level training fixtures: whole models trained by PyTorch 1.13.

Run with Debian's system python3, which has python3-torch (1.13):

    /usr/bin/python3 engine/core/src/test/python/make_model_fixtures.py

Under engine/core/src/test/resources/fixtures/training/models/ (index.txt lists the cases), each a
safetensors file with tensors and the JSON metadata "config". Two models, both time-major over a
packed batch of unequal, unsorted lengths (pack_padded_sequence, enforce_sorted=False):

classifier  nn.Embedding(V, E) -> nn.LSTM(E, H) -> each row's last valid step -> nn.Linear(H, C)
            -> nn.CrossEntropyLoss (mean) against one label per row. In jrnn: b.embedding,
            b.recurrent(x, Recurrent.lstm(H), lengths, null, null), b.lastStep, b.linear; loss
            Loss.crossEntropy("logits").
tagger      nn.Embedding(V, E) -> nn.GRU(E, H, num_layers=2, bidirectional=True) -> nn.Linear(2H,
            C) at every step -> nn.CrossEntropyLoss(ignore_index=-1) against one label per step,
            padded steps labelled -1 (and a few valid steps too). In jrnn the same with
            Recurrent.gru(H).layers(2).bidirectional() and
            Loss.crossEntropy("logits").ignoreIndex(-1).lengths("lengths").

Weights carry jrnn's canonical names: embedding.weight, <lstm|gru>.l<l>.<fwd|rev>.{W,R,bW,bR}
(PyTorch's weight_ih, weight_hh, bias_ih, bias_hh; GRU gates reordered from PyTorch's r,z,n to
z,r,n), linear.weight [C, in], linear.bias. Token ids at padded steps are valid but arbitrary:
nothing may depend on them.

gradients: "ids" I32 [T, N], "lengths" I32 [N], "target" I32 ([N] or [T, N]), "init.<w>" (float32
    weights, from PyTorch's default initialization under a fixed seed), "logits" (expected output)
    and "grad.<w>", the gradient of the loss with respect to every weight from torch autograd in
    float64 over the float32 weights; config: the model, "expected_loss".
trajectories (the classifier's data and initial weights): 20 steps of one torch optimizer on the
    same batch. Each step the gradients come from autograd in float64 over the current float32
    weights, are rounded to float32 and handed to the optimizer on the float32 parameters, after
    clip_grad_norm_ where the case clips. "after.<w>" [len(record), ...] holds the weights after the
    steps in config "record"; config "losses" and "norms" hold each step's loss (before the update)
    and global gradient norm (before clipping) in double; the optimizer spec uses
    make_training_fixtures.py's keys.
"""

import copy
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import write_safetensors  # noqa: E402
from make_training_fixtures import OUT  # noqa: E402

MODELS = os.path.join(OUT, "models")
F = torch.nn.functional
RNN = torch.nn.utils.rnn

# One batch for the classifier: T steps, N rows, lengths unsorted with 1 and T among them.
CLASSIFIER = {"model": "classifier", "cell": "lstm", "vocab": 14, "embed": 8, "hidden": 12,
              "layers": 1, "bidirectional": False, "classes": 5, "lengths": [5, 7, 1, 3, 6, 2]}
TAGGER = {"model": "tagger", "cell": "gru", "vocab": 10, "embed": 6, "hidden": 9, "layers": 2,
          "bidirectional": True, "classes": 5, "lengths": [4, 2, 7, 1, 5], "ignore_index": -1}
RECORD = [1, 5, 10, 20]


class Model(torch.nn.Module):
    """Embedding -> recurrent stack over the packed batch -> linear, per row or per step."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, L, bi = cfg["hidden"], cfg["layers"], cfg["bidirectional"]
        self.embedding = torch.nn.Embedding(cfg["vocab"], cfg["embed"])
        cls = torch.nn.LSTM if cfg["cell"] == "lstm" else torch.nn.GRU
        self.rnn = cls(cfg["embed"], H, num_layers=L, bidirectional=bi, batch_first=False)
        self.linear = torch.nn.Linear(H * (2 if bi else 1), cfg["classes"])

    def forward(self, ids, lengths):
        """ids [T, N] int64, lengths [N] int64; logits [N, C] (classifier) or [T, N, C]."""
        T, N = ids.shape
        packed = RNN.pack_padded_sequence(self.embedding(ids), lengths, enforce_sorted=False)
        y, state = self.rnn(packed)
        y, _ = RNN.pad_packed_sequence(y, total_length=T)
        if self.cfg["model"] == "tagger":
            return self.linear(y)
        last = y[lengths - 1, torch.arange(N)]
        h = state[0] if self.cfg["cell"] == "lstm" else state
        assert torch.equal(last, h[-1]), "the last valid step is the packed run's final state"
        return self.linear(last)

    def loss(self, logits, target):
        c = self.cfg["classes"]
        return F.cross_entropy(logits.reshape(-1, c), target.reshape(-1),
                               ignore_index=self.cfg.get("ignore_index", -100))

    def canonical(self, grads=False):
        """Every parameter (or its gradient) as float32 under jrnn's canonical name."""
        get = (lambda p: p.grad) if grads else (lambda p: p)
        node = self.cfg["cell"]
        out = {"embedding.weight": get(self.embedding.weight)}
        for l in range(self.cfg["layers"]):
            for d in range(2 if self.cfg["bidirectional"] else 1):
                sfx = f"_l{l}" + ("_reverse" if d else "")
                for ours, theirs in (("W", "weight_ih"), ("R", "weight_hh"), ("bW", "bias_ih"),
                                     ("bR", "bias_hh")):
                    a = get(getattr(self.rnn, theirs + sfx))
                    if node == "gru":  # PyTorch r, z, n -> canonical z, r, n
                        r, z, n = torch.chunk(a, 3, dim=0)
                        a = torch.cat([z, r, n], dim=0)
                    out[f"{node}.l{l}.{'rev' if d else 'fwd'}.{ours}"] = a
        out["linear.weight"] = get(self.linear.weight)
        out["linear.bias"] = get(self.linear.bias)
        return {k: v.detach().numpy().astype(np.float32) for k, v in out.items()}


def model_and_batch(cfg, seed):
    """A float32 model from PyTorch's default initialization and one batch: ids, lengths, target."""
    torch.manual_seed(seed)
    m = Model(cfg)
    rng = np.random.default_rng(seed)
    lengths = np.array(cfg["lengths"], dtype=np.int64)
    T, N, C = int(lengths.max()), len(lengths), cfg["classes"]
    ids = rng.integers(0, cfg["vocab"], (T, N))  # padded steps hold arbitrary valid ids
    if cfg["model"] == "tagger":
        target = rng.integers(0, C, (T, N))
        target[np.arange(T)[:, None] >= lengths[None, :]] = cfg["ignore_index"]
        target[rng.random((T, N)) < 0.15] = cfg["ignore_index"]  # ignored valid steps too
        assert (target != cfg["ignore_index"]).any()
    else:
        target = rng.integers(0, C, N)
    return m, ids, lengths, target


def autograd(m, ids, lengths, target):
    """Loss, logits and gradients in float64 over the float32 model's values; m is unchanged."""
    m64 = copy.deepcopy(m)
    for p in m64.parameters():
        p.grad = None
    m64.double()
    logits = m64(torch.tensor(ids), torch.tensor(lengths))
    loss = m64.loss(logits, torch.tensor(target))
    loss.backward()
    return float(loss), logits.detach().numpy(), m64


def config_of(cfg, **more):
    c = {k: v for k, v in cfg.items() if k != "lengths"}
    c.update(more)
    return c


def gradient_case(name, cfg, seed):
    m, ids, lengths, target = model_and_batch(cfg, seed)
    loss, logits, m64 = autograd(m, ids, lengths, target)
    tensors = {"ids": ids.astype(np.int32), "lengths": lengths.astype(np.int32),
               "target": target.astype(np.int32), "logits": logits.astype(np.float32)}
    tensors.update({"init." + k: v for k, v in m.canonical().items()})
    tensors.update({"grad." + k: v for k, v in m64.canonical(grads=True).items()})
    config = config_of(cfg, kind="gradients", seed=seed, expected_loss=loss)
    write_safetensors(os.path.join(MODELS, name + ".safetensors"), tensors,
                      {"config": json.dumps(config)})
    print(f"{name}: loss {loss:.6f}, {sum(v.size for k, v in tensors.items() if k[:5] == 'init.')}"
          " weights")
    return name


def trajectory_case(name, opt, lr, steps=20, clip_norm=None, seed=1, **options):
    m, ids, lengths, target = model_and_batch(CLASSIFIER, seed)
    params = list(m.parameters())
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[opt]
    o = cls(params, lr=lr, **options)
    tensors = {"ids": ids.astype(np.int32), "lengths": lengths.astype(np.int32),
               "target": target.astype(np.int32)}
    tensors.update({"init." + k: v for k, v in m.canonical().items()})
    losses, norms, after = [], [], {}
    for step in range(1, steps + 1):
        loss, _, m64 = autograd(m, ids, lengths, target)
        for p, q in zip(params, m64.parameters()):
            p.grad = q.grad.float()
        losses.append(loss)
        norms.append(math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params)))
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        o.step()
        if step in RECORD:
            for k, v in m.canonical().items():
                after.setdefault(k, []).append(v)
    tensors.update({"after." + k: np.stack(v) for k, v in after.items()})
    config = config_of(CLASSIFIER, kind="trajectory", seed=seed, optimizer=opt, lr=lr,
                       steps=steps, record=[k for k in RECORD if k <= steps], losses=losses,
                       norms=norms, **options)
    if clip_norm is not None:
        config["clip_norm"] = clip_norm
        clipped = sum(n > clip_norm for n in norms)
        assert 0 < clipped < steps, f"{name}: clipping acts at {clipped} of {steps} steps"
    write_safetensors(os.path.join(MODELS, name + ".safetensors"), tensors,
                      {"config": json.dumps(config)})
    print(f"{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}, norm {norms[0]:.3f} ->"
          f" {norms[-1]:.3f}")
    return name


def main():
    os.makedirs(MODELS, exist_ok=True)
    torch.set_num_threads(1)
    names = [
        gradient_case("lstm_classifier", CLASSIFIER, 1),
        gradient_case("gru_tagger", TAGGER, 2),
        trajectory_case("sgd_momentum", "sgd", 0.1, momentum=0.9),
        trajectory_case("sgd_nesterov", "sgd", 0.1, momentum=0.9, nesterov=True),
        trajectory_case("adam", "adam", 0.01),
        trajectory_case("adamw", "adamw", 0.01, weight_decay=0.01),
        # Centered RMSprop with alpha 0.99 takes first steps of ~10 lr and is the most sensitive
        # to float32 noise in the gradients; these milder settings keep the weights that end
        # near zero within the tests' bound (1e-4 relative to max(|w|, 1e-3 max|w|)).
        trajectory_case("rmsprop_centered_momentum", "rmsprop", 0.001, alpha=0.9, momentum=0.5,
                        centered=True),
        trajectory_case("sgd_momentum_clip_norm", "sgd", 0.1, momentum=0.9, clip_norm=0.3),
    ]
    with open(os.path.join(MODELS, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print("wrote", os.path.normpath(MODELS))


if __name__ == "__main__":
    main()

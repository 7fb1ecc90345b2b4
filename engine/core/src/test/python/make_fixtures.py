#!/usr/bin/python3
"""Writes the golden fixtures the Java tests compare against.

Run with Debian's system python3, which has python3-torch and python3-onnx:

    /usr/bin/python3 engine/core/src/test/python/make_fixtures.py

Each fixture is a small safetensors file under engine/core/src/test/resources/fixtures/recurrent/:
inputs (x, lengths, h0, c0), weights in jrnn's canonical form (rnn.l<l>.<fwd|rev>.<W|R|bW|bR|P|Wp>,
gate order LSTM i,f,g,o and GRU z,r,n) and expected outputs (y, hN, cN), with the layer's
configuration as JSON in the metadata key "config".

Expected values come from PyTorch (nn.RNN, nn.LSTM, nn.GRU) where PyTorch has the feature, and
otherwise from the NumPy implementation of the ONNX operator equations below (peepholes, clip,
coupled input-forget gate, GRU with linear_before_reset=0, non-default activations, summed
bidirectional outputs). That NumPy implementation is itself checked here against PyTorch on every
PyTorch case and against ONNX's own LSTM test helper on peepholes.

Gradient fixtures (fixtures/gradients/) hold, besides the above, upstream gradients dy, dhN, dcN
and the expected gradients of loss = sum(y*dy) + sum(hN*dhN) + sum(cN*dcN) with respect to the
inputs ("grad.x", "grad.h0", "grad.c0") and every weight ("grad.<weight name>"), from torch
autograd over the same equations written in torch ops (float64); that implementation is checked
against nn.LSTM/nn.GRU/nn.RNN outputs and gradients where PyTorch has the configuration.
"""

import json
import os
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "recurrent")
NODE = "rnn"
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def write_safetensors(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs = []
    off = 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        if a.dtype == np.float32 or a.dtype == np.float64:
            dt, raw = "F32", a.astype("<f4").tobytes()
        elif a.dtype in (np.int32, np.int64):
            dt, raw = "I32", a.astype("<i4").tobytes()
        else:
            raise ValueError(a.dtype)
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(hb).to_bytes(8, "little"))
        f.write(hb)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- NumPy ONNX equations (float64)

ACT = {
    "Sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
    "Tanh": lambda x, a, b: np.tanh(x),
    "Relu": lambda x, a, b: np.maximum(x, 0),
    "Affine": lambda x, a, b: a * x + b,
    "LeakyRelu": lambda x, a, b: np.where(x >= 0, x, a * x),
    "ThresholdedRelu": lambda x, a, b: np.where(x > a, x, 0),
    "ScaledTanh": lambda x, a, b: a * np.tanh(b * x),
    "HardSigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "Elu": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)),
    "Softsign": lambda x, a, b: x / (1 + np.abs(x)),
    "Softplus": lambda x, a, b: np.log1p(np.exp(x)),
}
DEFAULT_ACTS = {
    "rnn": [("Tanh", 0, 0)],
    "gru": [("Sigmoid", 0, 0), ("Tanh", 0, 0)],
    "lstm": [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)],
}


def act(spec):
    name, a, b = spec
    return lambda x: ACT[name](x, a, b)


def np_direction(cfg, x, lens, w, h0, c0, reverse, acts):
    """One direction of one layer. x [T, N, I] float64; returns y [T, N, Hout], hN, cN."""
    cell, H = cfg["cell"], cfg["hidden"]
    T, N, _ = x.shape
    clip = cfg.get("clip") or np.inf
    cl = lambda v: np.clip(v, -clip, clip)
    hout = cfg.get("projection") or H
    y = np.zeros((T, N, hout))
    hN = np.zeros((N, hout))
    cN = np.zeros((N, H))
    fs = [act(a) for a in acts]
    for n in range(N):
        h = h0[n].copy()
        c = c0[n].copy() if c0 is not None else np.zeros(H)
        steps = range(lens[n] - 1, -1, -1) if reverse else range(lens[n])
        for t in steps:
            xt = x[t, n]
            if cell == "rnn":
                h = fs[0](cl(w["W"] @ xt + w["bW"] + w["R"] @ h + w["bR"]))
            elif cell == "gru":
                gx = w["W"] @ xt + w["bW"]
                gh = w["R"] @ h + w["bR"]
                z = fs[0](cl(gx[:H] + gh[:H]))
                r = fs[0](cl(gx[H:2 * H] + gh[H:2 * H]))
                if cfg.get("lbr", True):
                    nn_ = fs[1](cl(gx[2 * H:] + r * gh[2 * H:]))
                else:
                    nn_ = fs[1](cl(gx[2 * H:] + w["R"][2 * H:] @ (r * h) + w["bR"][2 * H:]))
                h = (1 - z) * nn_ + z * h
            else:
                g = w["W"] @ xt + w["bW"] + w["R"] @ h + w["bR"]
                p = w.get("P")
                pi, pf, po = (p[:H], p[H:2 * H], p[2 * H:]) if p is not None else (0, 0, 0)
                i = fs[0](cl(g[:H] + pi * c))
                f = 1 - i if cfg.get("coupled") else fs[0](cl(g[H:2 * H] + pf * c))
                gg = fs[1](cl(g[2 * H:3 * H]))
                c = f * c + i * gg
                o = fs[0](cl(g[3 * H:] + po * c))
                h = o * fs[2](c)
                if "Wp" in w:
                    h = w["Wp"] @ h
            y[t, n] = h
        hN[n] = h
        cN[n] = c
    return y, hN, cN


def np_stack(cfg, x, lens, weights, h0, c0):
    """The whole stack, time-major x [T, N, I]; returns y [T, N, C], hN [L*D, N, Hout], cN."""
    D = 2 if cfg["direction"] == "bidirectional" else 1
    acts = cfg.get("activations") or DEFAULT_ACTS[cfg["cell"]]
    per = len(DEFAULT_ACTS[cfg["cell"]])
    cur = x.astype(np.float64)
    hs, cs = [], []
    for l in range(cfg["layers"]):
        ys = []
        for d in range(D):
            rev = cfg["direction"] == "reverse" or d == 1
            w = {k: v.astype(np.float64) for k, v in weights[(l, d)].items()}
            s = l * D + d
            a = acts if len(acts) == per else acts[d * per:(d + 1) * per]
            y, h, c = np_direction(cfg, cur, lens, w, h0[s], None if c0 is None else c0[s], rev, a)
            ys.append(y)
            hs.append(h)
            cs.append(c)
        if D == 1:
            cur = ys[0]
        elif cfg.get("merge", "concat") == "sum":
            cur = ys[0] + ys[1]
        else:
            cur = np.concatenate(ys, axis=-1)
    return cur, np.stack(hs), np.stack(cs)


# ---------------------------------------------------------------- PyTorch cases


def torch_case(cfg, seed):
    """Runs nn.RNN/LSTM/GRU; returns tensors for the fixture, weights canonical."""
    torch.manual_seed(seed)
    cell, H, L, I = cfg["cell"], cfg["hidden"], cfg["layers"], cfg["input"]
    T, N, bf = cfg["T"], cfg["N"], cfg["batch_first"]
    bidir = cfg["direction"] == "bidirectional"
    D = 2 if bidir else 1
    kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=bidir, batch_first=bf)
    if cell == "rnn":
        m = torch.nn.RNN(nonlinearity=cfg.get("nonlinearity", "tanh"), **kw)
    elif cell == "gru":
        m = torch.nn.GRU(**kw)
    else:
        m = torch.nn.LSTM(proj_size=cfg.get("projection") or 0, **kw)
    hout = cfg.get("projection") or H
    x = torch.randn(N, T, I) if bf else torch.randn(T, N, I)
    lens = cfg.get("lengths")
    h0 = torch.randn(L * D, N, hout) if cfg["h0"] else torch.zeros(L * D, N, hout)
    c0 = torch.randn(L * D, N, H) if cfg["h0"] else torch.zeros(L * D, N, H)
    state = (h0, c0) if cell == "lstm" else h0
    with torch.no_grad():
        if lens is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor(lens, dtype=torch.int64), batch_first=bf, enforce_sorted=False)
            out, st = m(packed, state)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=bf, total_length=T)
        else:
            y, st = m(x, state)
    hN, cN = (st if cell == "lstm" else (st, None))
    weights = {}
    for l in range(L):
        for d in range(D):
            sfx = f"_l{l}" + ("_reverse" if d == 1 else "")
            w = {
                "W": getattr(m, "weight_ih" + sfx).detach().numpy(),
                "R": getattr(m, "weight_hh" + sfx).detach().numpy(),
                "bW": getattr(m, "bias_ih" + sfx).detach().numpy(),
                "bR": getattr(m, "bias_hh" + sfx).detach().numpy(),
            }
            if cell == "gru":  # PyTorch r, z, n -> canonical z, r, n
                for k in w:
                    r_, z_, n_ = np.split(w[k], 3, axis=0)
                    w[k] = np.concatenate([z_, r_, n_], axis=0)
            if cfg.get("projection"):
                w["Wp"] = getattr(m, "weight_hr" + sfx).detach().numpy()
            weights[(l, d)] = w
    t = {"x": x.numpy()}
    if lens is not None:
        t["lengths"] = np.array(lens, dtype=np.int32)
    if cfg["h0"]:
        t["h0"] = h0.numpy()
        if cell == "lstm":
            t["c0"] = c0.numpy()
    t["y"] = y.numpy()
    t["hN"] = hN.numpy()
    if cell == "lstm":
        t["cN"] = cN.numpy()
    # The NumPy equations must agree with PyTorch before they are trusted for the other cases.
    ny, nh, nc = run_numpy(cfg, t, weights)
    worst = max(np.abs(ny - t["y"]).max(), np.abs(nh - t["hN"]).max())
    if cell == "lstm":
        worst = max(worst, np.abs(nc - t["cN"]).max())
    assert worst < 2e-6, f"NumPy equations disagree with PyTorch on {cfg['name']}: {worst}"
    return t, weights


def run_numpy(cfg, t, weights):
    bf = cfg["batch_first"]
    x = t["x"].transpose(1, 0, 2) if bf else t["x"]
    T, N, _ = x.shape
    D = 2 if cfg["direction"] == "bidirectional" else 1
    L, H = cfg["layers"], cfg["hidden"]
    hout = cfg.get("projection") or H
    lens = t["lengths"] if "lengths" in t else np.full(N, T)
    h0 = t["h0"].astype(np.float64) if "h0" in t else np.zeros((L * D, N, hout))
    c0 = t["c0"].astype(np.float64) if "c0" in t else np.zeros((L * D, N, H))
    y, hN, cN = np_stack(cfg, x, lens, weights, h0, c0)
    if bf:
        y = y.transpose(1, 0, 2)
    return y, hN, cN


def numpy_case(cfg, seed):
    """Random inputs and weights; expected values from the NumPy ONNX equations."""
    rng = np.random.default_rng(seed)
    cell, H, L, I = cfg["cell"], cfg["hidden"], cfg["layers"], cfg["input"]
    T, N, bf = cfg["T"], cfg["N"], cfg["batch_first"]
    D = 2 if cfg["direction"] == "bidirectional" else 1
    G = GATES[cell]
    hout = cfg.get("projection") or H
    outsize = 2 * hout if D == 2 and cfg.get("merge", "concat") == "concat" else hout
    bound = 1 / np.sqrt(H)
    u = lambda *s: rng.uniform(-bound, bound, size=s).astype(np.float32)
    weights = {}
    for l in range(L):
        insize = I if l == 0 else outsize
        for d in range(D):
            w = {"W": u(G * H, insize), "R": u(G * H, hout), "bW": u(G * H), "bR": u(G * H)}
            if cfg.get("peepholes"):
                w["P"] = u(3 * H)
            if cfg.get("projection"):
                w["Wp"] = u(hout, H)
            weights[(l, d)] = w
    t = {"x": rng.standard_normal((N, T, I) if bf else (T, N, I)).astype(np.float32)}
    if cfg.get("lengths") is not None:
        t["lengths"] = np.array(cfg["lengths"], dtype=np.int32)
    if cfg["h0"]:
        t["h0"] = rng.standard_normal((L * D, N, hout)).astype(np.float32)
        if cell == "lstm":
            t["c0"] = rng.standard_normal((L * D, N, H)).astype(np.float32)
    y, hN, cN = run_numpy(cfg, t, weights)
    t["y"], t["hN"] = y.astype(np.float32), hN.astype(np.float32)
    if cell == "lstm":
        t["cN"] = cN.astype(np.float32)
    return t, weights


def check_against_onnx_helper():
    """Peepholes through ONNX's own LSTM test helper (ONNX gate order i,o,f,c; P order i,o,f)."""
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    from onnx.backend.test.case.node.lstm import LSTM_Helper
    rng = np.random.default_rng(7)
    T, N, I, H = 3, 2, 4, 5
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    W = rng.uniform(-0.5, 0.5, (1, 4 * H, I)).astype(np.float32)
    R = rng.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (1, 8 * H)).astype(np.float32)
    P = rng.uniform(-0.5, 0.5, (1, 3 * H)).astype(np.float32)
    y_onnx, _ = LSTM_Helper(X=x, W=W, R=R, B=B, P=P).step()
    iofc = lambda a: np.concatenate([a[:H], a[2 * H:3 * H], a[3 * H:], a[H:2 * H]])  # -> i,f,g,o
    w = {"W": iofc(W[0]), "R": iofc(R[0]), "bW": iofc(B[0][:4 * H]), "bR": iofc(B[0][4 * H:]),
         "P": np.concatenate([P[0][:H], P[0][2 * H:], P[0][H:2 * H]])}
    cfg = {"cell": "lstm", "hidden": H, "layers": 1, "direction": "forward", "peepholes": True}
    y, _, _ = np_stack(cfg, x, np.full(N, T), {(0, 0): w}, np.zeros((1, N, H)), np.zeros((1, N, H)))
    worst = np.abs(y - y_onnx[:, 0]).max()
    assert worst < 1e-6, f"NumPy LSTM with peepholes disagrees with ONNX's helper: {worst}"


# ---------------------------------------------------------------- torch autograd over the same equations

def t_act(spec):
    name, a, b = spec
    return {
        "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Relu": torch.relu,
        "LeakyRelu": lambda x: torch.where(x >= 0, x, a * x),
    }[name]


def t_stack(cfg, x, weights, h0, c0):
    """The stack in torch ops; x [T, N, I] float64, weights {(l, d): {k: tensor}}; no lengths."""
    cell, H = cfg["cell"], cfg["hidden"]
    D = 2 if cfg["direction"] == "bidirectional" else 1
    acts = cfg.get("activations") or DEFAULT_ACTS[cell]
    per = len(DEFAULT_ACTS[cell])
    T = x.shape[0]
    cur = x
    hs, cs = [], []
    for l in range(cfg["layers"]):
        ys = []
        for d in range(D):
            rev = cfg["direction"] == "reverse" or d == 1
            w = weights[(l, d)]
            a = acts if len(acts) == per else acts[d * per:(d + 1) * per]
            fs = [t_act(s_) for s_ in a]
            s = l * D + d
            h = h0[s]
            c = c0[s] if c0 is not None else None
            out = [None] * T
            for t in (range(T - 1, -1, -1) if rev else range(T)):
                xt = cur[t]
                if cell == "rnn":
                    h = fs[0](xt @ w["W"].T + w["bW"] + h @ w["R"].T + w["bR"])
                elif cell == "gru":
                    gx = xt @ w["W"].T + w["bW"]
                    gh = h @ w["R"].T + w["bR"]
                    z = fs[0](gx[:, :H] + gh[:, :H])
                    r = fs[0](gx[:, H:2 * H] + gh[:, H:2 * H])
                    if cfg.get("lbr", True):
                        n = fs[1](gx[:, 2 * H:] + r * gh[:, 2 * H:])
                    else:
                        n = fs[1](gx[:, 2 * H:] + (r * h) @ w["R"][2 * H:].T + w["bR"][2 * H:])
                    h = (1 - z) * n + z * h
                else:
                    g = xt @ w["W"].T + w["bW"] + h @ w["R"].T + w["bR"]
                    p = w.get("P")
                    pi, pf, po = (p[:H], p[H:2 * H], p[2 * H:]) if p is not None else (0, 0, 0)
                    i = fs[0](g[:, :H] + pi * c)
                    f = fs[0](g[:, H:2 * H] + pf * c)
                    c = f * c + i * fs[1](g[:, 2 * H:3 * H])
                    o = fs[0](g[:, 3 * H:] + po * c)
                    h = o * fs[2](c)
                    if "Wp" in w:
                        h = h @ w["Wp"].T
                out[t] = h
            ys.append(torch.stack(out))
            hs.append(h)
            cs.append(c)
        if D == 1:
            cur = ys[0]
        elif cfg.get("merge", "concat") == "sum":
            cur = ys[0] + ys[1]
        else:
            cur = torch.cat(ys, dim=-1)
    return cur, torch.stack(hs), (torch.stack(cs) if cell == "lstm" else None)


def grad_case(cfg, seed):
    """Inputs, weights and upstream gradients; expected outputs and gradients from autograd."""
    t, weights = numpy_case(cfg, seed)
    rng = np.random.default_rng(seed + 1)
    cell, H, L = cfg["cell"], cfg["hidden"], cfg["layers"]
    D = 2 if cfg["direction"] == "bidirectional" else 1
    hout = cfg.get("projection") or H
    bf = cfg["batch_first"]
    x = torch.tensor(t["x"], dtype=torch.float64, requires_grad=True)
    N = t["x"].shape[0 if bf else 1]
    h0 = torch.tensor(t["h0"] if "h0" in t else np.zeros((L * D, N, hout)), dtype=torch.float64,
                      requires_grad=True)
    c0 = torch.tensor(t["c0"] if "c0" in t else np.zeros((L * D, N, H)), dtype=torch.float64,
                      requires_grad=True) if cell == "lstm" else None
    tw = {k: {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in w.items()}
          for k, w in weights.items()}
    xt = x.transpose(0, 1) if bf else x
    y, hN, cN = t_stack(cfg, xt, tw, h0, c0)
    if bf:
        y = y.transpose(0, 1)
    # The torch equations must reproduce the NumPy ones before their gradients are trusted.
    assert np.abs(y.detach().numpy() - t["y"]).max() < 1e-6, cfg["name"]
    dy = rng.standard_normal(y.shape)
    dhN = rng.standard_normal(hN.shape)
    loss = (y * torch.tensor(dy)).sum() + (hN * torch.tensor(dhN)).sum()
    t["dy"], t["dhN"] = dy.astype(np.float32), dhN.astype(np.float32)
    if cell == "lstm":
        dcN = rng.standard_normal(cN.shape)
        loss = loss + (cN * torch.tensor(dcN)).sum()
        t["dcN"] = dcN.astype(np.float32)
    loss.backward()
    t["grad.x"] = x.grad.numpy().astype(np.float32)
    if "h0" in t:
        t["grad.h0"] = h0.grad.numpy().astype(np.float32)
        if cell == "lstm":
            t["grad.c0"] = c0.grad.numpy().astype(np.float32)
    for (l, d), w in tw.items():
        dname = "rev" if (cfg["direction"] == "reverse" or d == 1) else "fwd"
        for k, v in w.items():
            t[f"grad.{NODE}.l{l}.{dname}.{k}"] = v.grad.numpy().astype(np.float32)
    return t, weights


def check_torch_gradients_against_pytorch():
    """The torch equations' gradients equal nn.LSTM's (projection included) and nn.GRU's."""
    torch.manual_seed(3)
    for kind in ("lstm", "lstm_proj", "gru"):
        T, N, I, H = 4, 2, 3, 5
        if kind == "gru":
            m = torch.nn.GRU(I, H, num_layers=2, bidirectional=True).double()
        else:
            m = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True,
                              proj_size=2 if kind == "lstm_proj" else 0).double()
        hout = 2 if kind == "lstm_proj" else H
        x = torch.randn(T, N, I, dtype=torch.float64, requires_grad=True)
        y, _ = m(x)
        y.sum().backward()
        gx_ref = x.grad.clone()
        x.grad = None
        cfg = {"cell": "gru" if kind == "gru" else "lstm", "hidden": H, "layers": 2,
               "direction": "bidirectional", "projection": hout if kind == "lstm_proj" else 0}
        weights = {}
        for l in range(2):
            for d in range(2):
                sfx = f"_l{l}" + ("_reverse" if d == 1 else "")
                w = {"W": getattr(m, "weight_ih" + sfx), "R": getattr(m, "weight_hh" + sfx),
                     "bW": getattr(m, "bias_ih" + sfx), "bR": getattr(m, "bias_hh" + sfx)}
                if kind == "gru":
                    w = {k: torch.cat([v.chunk(3)[1], v.chunk(3)[0], v.chunk(3)[2]]) for k, v in w.items()}
                if kind == "lstm_proj":
                    w["Wp"] = getattr(m, "weight_hr" + sfx)
                weights[(l, d)] = w
        y2, _, _ = t_stack(cfg, x, weights, torch.zeros(4, N, hout, dtype=torch.float64),
                           torch.zeros(4, N, H, dtype=torch.float64) if kind != "gru" else None)
        y2.sum().backward()
        assert (x.grad - gx_ref).abs().max() < 1e-10, f"torch equations' gradients differ ({kind})"


def gradient_cases():
    """Configurations oneDNN's backward supports (no lengths, clip or coupled gates)."""
    shapes = [  # (tag, layers, direction, batch_first, h0, T, N, I, H)
        ("a", 1, "forward", False, True, 3, 2, 4, 5),
        ("b", 2, "bidirectional", True, True, 4, 3, 3, 6),
        ("c", 1, "reverse", False, False, 2, 1, 5, 7),
    ]
    cells = [
        ("lstm", {"cell": "lstm"}),
        ("lstm_peep_proj", {"cell": "lstm", "peepholes": True, "projection": 2}),
        ("gru", {"cell": "gru", "lbr": True}),
        ("gru_lbr0", {"cell": "gru", "lbr": False}),
        ("rnn_tanh", {"cell": "rnn"}),
        ("rnn_relu", {"cell": "rnn", "activations": [("Relu", 0, 0)]}),
        ("lstm_sum", {"cell": "lstm", "merge": "sum"}),
    ]
    for name, extra in cells:
        for tag, L, direc, bf, h0, T, N, I, H in shapes:
            if extra.get("merge") == "sum" and direc != "bidirectional":
                continue
            yield dict(extra, name=f"grad_{name}_{tag}", layers=L, direction=direc, batch_first=bf,
                       lengths=None, h0=h0, T=T, N=N, input=I, hidden=H, source="torch-autograd")


def cases():
    """(config, generator) pairs. Shapes hit odd hidden sizes, I != H, T = 1 and N = 1."""
    shapes = [  # (tag, layers, direction, batch_first, lengths, h0, T, N, I, H)
        ("a", 1, "forward", False, None, False, 4, 3, 5, 7),
        ("b", 2, "bidirectional", True, [4, 2, 3], True, 4, 3, 6, 9),
        ("c", 1, "bidirectional", False, [5, 1], True, 5, 2, 3, 17),
        ("d", 2, "forward", True, None, True, 1, 1, 4, 7),
        ("e", 1, "reverse", False, [3, 2, 1], False, 3, 3, 2, 6),
    ]
    torch_cells = [
        ("rnn_tanh", {"cell": "rnn"}),
        ("rnn_relu", {"cell": "rnn", "nonlinearity": "relu",
                      "activations": [("Relu", 0, 0)]}),
        ("lstm", {"cell": "lstm"}),
        ("lstm_proj", {"cell": "lstm", "projection": 3}),
        ("gru", {"cell": "gru", "lbr": True}),
    ]
    for name, extra in torch_cells:
        for tag, L, direc, bf, lens, h0, T, N, I, H in shapes:
            if direc == "reverse":
                continue  # PyTorch has no reverse-only layer; covered by the NumPy cases
            cfg = dict(extra, name=f"torch_{name}_{tag}", layers=L, direction=direc,
                       batch_first=bf, lengths=lens, h0=h0, T=T, N=N, input=I, hidden=H,
                       source="pytorch")
            yield cfg, torch_case
    numpy_cells = [
        ("lstm_peep", {"cell": "lstm", "peepholes": True}),
        ("lstm_clip", {"cell": "lstm", "clip": 0.7}),
        ("lstm_coupled", {"cell": "lstm", "coupled": True}),
        ("lstm_all", {"cell": "lstm", "peepholes": True, "clip": 1.5, "coupled": True,
                      "projection": 2}),
        ("lstm_acts", {"cell": "lstm", "activations": [("HardSigmoid", 0.3, 0.4),
                                                        ("LeakyRelu", 0.1, 0),
                                                        ("Softsign", 0, 0)]}),
        ("gru_lbr0", {"cell": "gru", "lbr": False}),
        ("gru_lbr0_clip", {"cell": "gru", "lbr": False, "clip": 0.5}),
        ("gru_acts", {"cell": "gru", "lbr": True,
                      "activations": [("Sigmoid", 0, 0), ("ScaledTanh", 1.2, 0.8),
                                      ("HardSigmoid", 0.25, 0.45), ("Elu", 0.9, 0)]}),
        ("rnn_clip", {"cell": "rnn", "clip": 0.3}),
        ("rnn_acts", {"cell": "rnn", "activations": [("Softplus", 0, 0),
                                                      ("ThresholdedRelu", 0.2, 0)]}),
        ("rnn_affine", {"cell": "rnn", "activations": [("Affine", 0.5, 0.1)]}),
        ("lstm_sum", {"cell": "lstm", "merge": "sum"}),
        ("gru_sum", {"cell": "gru", "lbr": False, "merge": "sum"}),
    ]
    for name, extra in numpy_cells:
        for tag, L, direc, bf, lens, h0, T, N, I, H in shapes:
            per_direction = len(extra.get("activations") or [])
            if per_direction > len(DEFAULT_ACTS[extra["cell"]]) and direc != "bidirectional":
                continue  # two activation sets need two directions
            if extra.get("merge") == "sum" and direc != "bidirectional":
                continue
            if extra.get("projection") and extra["projection"] >= H:
                continue
            cfg = dict(extra, name=f"numpy_{name}_{tag}", layers=L, direction=direc,
                       batch_first=bf, lengths=lens, h0=h0, T=T, N=N, input=I, hidden=H,
                       source="numpy")
            yield cfg, numpy_case


def main():
    os.makedirs(OUT, exist_ok=True)
    check_against_onnx_helper()
    count = 0
    names = []
    for k, (cfg, gen) in enumerate(cases()):
        t, weights = gen(cfg, 1000 + k)
        tensors = dict(t)
        D = 2 if cfg["direction"] == "bidirectional" else 1
        for (l, d), w in weights.items():
            dname = "rev" if (cfg["direction"] == "reverse" or d == 1) else "fwd"
            for key, v in w.items():
                tensors[f"{NODE}.l{l}.{dname}.{key}"] = v.astype(np.float32)
        meta = {"config": json.dumps(cfg)}
        write_safetensors(os.path.join(OUT, cfg["name"] + ".safetensors"), tensors, meta)
        names.append(cfg["name"])
        count += 1
    with open(os.path.join(OUT, "index.txt"), "w") as f:  # lets tests find them inside a jar
        f.write("\n".join(names) + "\n")
    check_torch_gradients_against_pytorch()
    gout = os.path.join(os.path.dirname(OUT), "gradients")
    os.makedirs(gout, exist_ok=True)
    gnames = []
    for k, cfg in enumerate(gradient_cases()):
        t, weights = grad_case(cfg, 5000 + k)
        tensors = dict(t)
        for (l, d), w in weights.items():
            dname = "rev" if (cfg["direction"] == "reverse" or d == 1) else "fwd"
            for key, v in w.items():
                tensors[f"{NODE}.l{l}.{dname}.{key}"] = v.astype(np.float32)
        write_safetensors(os.path.join(gout, cfg["name"] + ".safetensors"), tensors,
                          {"config": json.dumps(cfg)})
        gnames.append(cfg["name"])
    with open(os.path.join(gout, "index.txt"), "w") as f:
        f.write("\n".join(gnames) + "\n")
    print(f"wrote {len(gnames)} gradient fixtures to {os.path.normpath(gout)}")
    print(f"wrote {count} fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

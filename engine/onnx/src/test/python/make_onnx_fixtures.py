#!/usr/bin/python3
"""Writes the ONNX test models and their expected outputs.

Run with Debian's system python3 (python3-torch, python3-onnx):

    /usr/bin/python3 engine/onnx/src/test/python/make_onnx_fixtures.py

For each case, engine/onnx/src/test/resources/fixtures/onnx/ gets <name>.onnx and <name>.safetensors
holding the inputs ("in.<input name>", int64 stored as int32) and the expected outputs
("out.<output name>"), and index.txt lists the cases. Three sources:

- torch.onnx.export of PyTorch modules at opsets 14 and 17, expected outputs from PyTorch;
- single-node models built with onnx.helper for what PyTorch does not export (peepholes, clip,
  input_forget, layout=1, sequence_lens, non-default activations, GRU linear_before_reset=0),
  expected outputs from the NumPy ONNX equations in engine/core/src/test/python/make_fixtures.py;
- ONNX's own backend node tests for LSTM, GRU and RNN, from the case generators shipped in
  python3-onnx (onnx/backend/test/case/node/{lstm,gru,rnn}.py), weights passed as inputs.
"""

import importlib
import io
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
# make_fixtures.py (NumPy equations, safetensors writer) stays with the core's fixtures.
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "core", "src", "test", "python"))
from make_fixtures import np_stack, write_safetensors  # noqa: E402

OUT = os.path.join(HERE, "..", "resources", "fixtures", "onnx")
names = []


def save(name, model_bytes, inputs, outputs):
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(model_bytes)
    tensors = {f"in.{k}": np.asarray(v) for k, v in inputs.items()}
    tensors.update({f"out.{k}": np.asarray(v, dtype=np.float32) for k, v in outputs.items()})
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, {"source": name})
    names.append(name)


# ---------------------------------------------------------------- torch.onnx.export


class Classifier(torch.nn.Module):
    """Embedding, LSTM, linear on the last hidden state, log-softmax."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 8)
        self.lstm = torch.nn.LSTM(8, 16, batch_first=True)
        self.fc = torch.nn.Linear(16, 3)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.emb(ids))
        return torch.log_softmax(self.fc(h[-1]), -1)


class CharLm(torch.nn.Module):
    """A character-level language model: embedding, 2-layer LSTM with state in and out."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(30, 12)
        self.lstm = torch.nn.LSTM(12, 20, num_layers=2)
        self.head = torch.nn.Linear(20, 30)

    def forward(self, ids, h0, c0):
        y, (h, c) = self.lstm(self.emb(ids), (h0, c0))
        return torch.log_softmax(self.head(y), -1), h, c


class WithState(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, h0, c0):
        y, (h, c) = self.m(x, (h0, c0))
        return y, h, c


def torch_cases():
    torch.manual_seed(11)
    T, N, I, H = 5, 3, 4, 6
    yield ("lstm", torch.nn.LSTM(I, H), (torch.randn(T, N, I),), ["x"], ["y", "h", "c"],
           {"x": {0: "T", 1: "N"}})
    yield ("lstm_2layer_bidir", torch.nn.LSTM(I, H, num_layers=2, bidirectional=True),
           (torch.randn(T, N, I),), ["x"], ["y", "h", "c"], {"x": {0: "T", 1: "N"}})
    yield ("lstm_initial_state", WithState(torch.nn.LSTM(I, H, num_layers=2)),
           (torch.randn(T, N, I), torch.randn(2, N, H), torch.randn(2, N, H)), ["x", "h0", "c0"],
           ["y", "h", "c"], {"x": {0: "T", 1: "N"}, "h0": {1: "N"}, "c0": {1: "N"}})
    yield ("gru_batch_first_h0", torch.nn.GRU(I, H, batch_first=True, bidirectional=True),
           (torch.randn(N, T, I), torch.randn(2, N, H)), ["x", "h0"], ["y", "h"],
           {"x": {0: "N", 1: "T"}, "h0": {1: "N"}})
    yield ("gru_2layer", torch.nn.GRU(I, H, num_layers=2), (torch.randn(T, N, I),), ["x"],
           ["y", "h"], {"x": {0: "T", 1: "N"}})
    yield ("rnn_tanh", torch.nn.RNN(I, H), (torch.randn(T, N, I),), ["x"], ["y", "h"],
           {"x": {0: "T", 1: "N"}})
    yield ("rnn_relu_bidir", torch.nn.RNN(I, H, nonlinearity="relu", bidirectional=True),
           (torch.randn(T, N, I),), ["x"], ["y", "h"], {"x": {0: "T", 1: "N"}})
    yield ("classifier", Classifier(), (torch.randint(0, 50, (N, 7)),), ["ids"], ["logp"],
           {"ids": {0: "N", 1: "T"}})
    yield ("char_lm", CharLm(), (torch.randint(0, 30, (9, 2)), torch.randn(2, 2, 20),
                                 torch.randn(2, 2, 20)),
           ["ids", "h0", "c0"], ["logp", "h", "c"],
           {"ids": {0: "T", 1: "N"}, "h0": {1: "N"}, "c0": {1: "N"}})


def export_torch():
    for name, module, args, inames, onames, dyn in torch_cases():
        module.eval()
        with torch.no_grad():
            expected = module(*args)
        if isinstance(expected, torch.Tensor):
            expected = (expected,)
        else:  # (y, (h, c)) or (y, h)
            flat = []
            for e in expected:
                flat.extend(e if isinstance(e, tuple) else (e,))
            expected = flat
        for opset in (14, 17):
            buf = io.BytesIO()
            torch.onnx.export(module, args, buf, input_names=inames, output_names=onames,
                              dynamic_axes=dyn, opset_version=opset)
            inputs = {k: (a.numpy().astype(np.int32) if a.dtype == torch.int64 else a.numpy())
                      for k, a in zip(inames, args)}
            outputs = {k: e.numpy() for k, e in zip(onames, expected)}
            save(f"torch{opset}_{name}", buf.getvalue(), inputs, outputs)


# ---------------------------------------------------------------- onnx.helper single nodes

LSTM_ONNX_ORDER = [0, 3, 1, 2]  # canonical i, f, g, o are ONNX blocks i=0, f=2, c=3, o=1


def to_onnx_gates(cell, canonical, H):
    """A canonical [G*H, ...] array in ONNX gate order."""
    if cell != "lstm":
        return canonical
    blocks = np.split(canonical, 4, axis=0)  # i, f, g, o
    return np.concatenate([blocks[0], blocks[3], blocks[1], blocks[2]], axis=0)  # i, o, f, c


def helper_case(name, cell, H, I, T, N, direction="forward", layout=0, lens=None, h0=False,
                peep=False, clip=None, input_forget=False, lbr=None, activations=None,
                outputs=("Y", "Y_h", "Y_c"), seed=0):
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    D = 2 if direction == "bidirectional" else 1
    u = lambda *s: rng.uniform(-0.5, 0.5, size=s).astype(np.float32)
    weights, W, R, B, P = {}, [], [], [], []
    for d in range(D):
        w = {"W": u(G * H, I), "R": u(G * H, H), "bW": u(G * H), "bR": u(G * H)}
        if peep:
            w["P"] = u(3 * H)
        weights[(0, d)] = w
        W.append(to_onnx_gates(cell, w["W"], H))
        R.append(to_onnx_gates(cell, w["R"], H))
        B.append(np.concatenate([to_onnx_gates(cell, w["bW"], H), to_onnx_gates(cell, w["bR"], H)]))
        if peep:  # canonical i, f, o -> ONNX i, o, f
            P.append(np.concatenate([w["P"][:H], w["P"][2 * H:], w["P"][H:2 * H]]))
    x = rng.standard_normal((N, T, I) if layout else (T, N, I)).astype(np.float32)
    init_h = rng.standard_normal((D, N, H)).astype(np.float32) if h0 else None
    init_c = rng.standard_normal((D, N, H)).astype(np.float32) if h0 and cell == "lstm" else None
    cfg = {"cell": cell, "hidden": H, "layers": 1, "direction": direction, "clip": clip,
           "coupled": input_forget, "lbr": bool(lbr), "peepholes": peep,
           "activations": activations}
    xt = x.transpose(1, 0, 2) if layout else x
    lengths = np.array(lens if lens is not None else [T] * N)
    y, hN, cN = np_stack(cfg, xt, lengths, weights,
                         init_h if h0 else np.zeros((D, N, H)),
                         init_c if init_c is not None else np.zeros((D, N, H)))
    Y = y.reshape(T, N, D, H).transpose(0, 2, 1, 3)  # [T, D, N, H]
    if layout:
        Y = Y.transpose(2, 0, 1, 3)  # [N, T, D, H]
        hN, cN = hN.transpose(1, 0, 2), cN.transpose(1, 0, 2)
    inputs = {"X": x}
    node_inputs = ["X", "W", "R", "B"]
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [D, G * H, I], np.stack(W).flatten()),
             helper.make_tensor("R", TensorProto.FLOAT, [D, G * H, H], np.stack(R).flatten()),
             helper.make_tensor("B", TensorProto.FLOAT, [D, 2 * G * H], np.stack(B).flatten())]
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", "T", I] if layout else ["T", "N", I])]
    if lens is not None:
        node_inputs.append("sequence_lens")
        graph_inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["N"]))
        inputs["sequence_lens"] = np.array(lens, dtype=np.int32)
    else:
        node_inputs.append("")
    if h0:
        node_inputs.append("initial_h")
        shape = ["N", D, H] if layout else [D, "N", H]
        graph_inputs.append(helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, shape))
        inputs["initial_h"] = init_h.transpose(1, 0, 2) if layout else init_h
        if cell == "lstm":
            node_inputs.append("initial_c")
            graph_inputs.append(helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, shape))
            inputs["initial_c"] = init_c.transpose(1, 0, 2) if layout else init_c
    elif cell == "lstm" and peep:
        node_inputs += ["", ""]
    if peep:
        node_inputs.append("P")
        inits.append(helper.make_tensor("P", TensorProto.FLOAT, [D, 3 * H], np.stack(P).flatten()))
    attrs = {"hidden_size": H, "direction": direction}
    if layout:
        attrs["layout"] = 1
    if clip is not None:
        attrs["clip"] = clip
    if input_forget:
        attrs["input_forget"] = 1
    if lbr is not None:
        attrs["linear_before_reset"] = lbr
    if activations:
        attrs["activations"] = [a[0] for a in activations]
        alphas = [a[1] for a in activations if a[0] in ("Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu")]
        betas = [a[2] for a in activations if a[0] in ("Affine", "ScaledTanh", "HardSigmoid")]
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
    all_outs = {"Y": Y, "Y_h": hN, "Y_c": cN}
    node_outputs = [o if o in outputs else "" for o in (["Y", "Y_h", "Y_c"] if cell == "lstm" else ["Y", "Y_h"])]
    while node_outputs and node_outputs[-1] == "":
        node_outputs.pop()
    node = helper.make_node(cell.upper(), node_inputs, node_outputs, **attrs)
    graph_outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(all_outs[o].shape))
                     for o in node_outputs if o]
    graph = helper.make_graph([node], name, graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    save(f"node_{name}", model.SerializeToString(), inputs,
         {o: all_outs[o].astype(np.float32) for o in node_outputs if o})


def helper_cases():
    helper_case("lstm_peepholes", "lstm", 5, 3, 4, 2, peep=True, h0=True, seed=1)
    helper_case("lstm_clip", "lstm", 5, 3, 4, 2, clip=0.6, seed=2)
    helper_case("lstm_input_forget", "lstm", 5, 3, 4, 2, input_forget=True, seed=3)
    helper_case("lstm_layout1", "lstm", 5, 3, 4, 2, layout=1, h0=True, direction="bidirectional", seed=4)
    helper_case("lstm_seq_lens", "lstm", 6, 3, 5, 3, lens=[5, 2, 3], direction="bidirectional", seed=5)
    helper_case("lstm_activations", "lstm", 5, 3, 4, 2,
                activations=[("HardSigmoid", 0.2, 0.45), ("Softsign", 0, 0), ("Elu", 0.7, 0)], seed=6)
    helper_case("lstm_everything", "lstm", 5, 3, 4, 3, peep=True, clip=1.2, input_forget=True,
                lens=[4, 1, 3], h0=True, direction="reverse", seed=7)
    helper_case("lstm_only_yh", "lstm", 5, 3, 4, 2, outputs=("Y_h",), seed=8)
    helper_case("gru_lbr0", "gru", 5, 3, 4, 2, lbr=0, h0=True, seed=9)
    helper_case("gru_lbr1", "gru", 5, 3, 4, 2, lbr=1, direction="bidirectional", seed=10)
    helper_case("gru_layout1_lens", "gru", 5, 3, 4, 3, layout=1, lens=[4, 2, 1], seed=11)
    helper_case("gru_activations_per_direction", "gru", 4, 3, 3, 2, direction="bidirectional",
                activations=[("Sigmoid", 0, 0), ("Tanh", 0, 0), ("HardSigmoid", 0.3, 0.5),
                             ("LeakyRelu", 0.1, 0)], seed=12)
    helper_case("rnn_clip_layout1", "rnn", 5, 3, 4, 2, layout=1, clip=0.4, h0=True, seed=13)
    helper_case("rnn_activations", "rnn", 5, 3, 4, 2, direction="bidirectional",
                activations=[("ScaledTanh", 1.3, 0.7), ("Affine", 0.5, 0.2)], seed=14)
    helper_case("rnn_thresholded_softplus", "rnn", 5, 3, 4, 2, direction="bidirectional",
                activations=[("ThresholdedRelu", 0.1, 0), ("Softplus", 0, 0)], seed=15)


# ---------------------------------------------------------------- ONNX backend node tests


def onnx_backend_cases():
    import onnx.backend.test.case.node as nodecases
    for m in ("lstm", "gru", "rnn"):  # importing runs their export_* and records the cases
        importlib.import_module("onnx.backend.test.case.node." + m)
    for case in nodecases._NodeTestCases:
        if not any(k in case.name for k in ("lstm", "gru", "rnn")):
            continue
        inputs, outputs = case.data_sets[0]
        g = case.model.graph
        save(case.name, case.model.SerializeToString(),
             {i.name: np.asarray(v) for i, v in zip(g.input, inputs)},
             {o.name: np.asarray(v) for o, v in zip(g.output, outputs)})


def main():
    os.makedirs(OUT, exist_ok=True)
    export_torch()
    helper_cases()
    onnx_backend_cases()
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"wrote {len(names)} ONNX fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

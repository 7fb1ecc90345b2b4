#!/usr/bin/python3
"""Writes PyTorch state_dict fixtures for the safetensors importer.

Run with Debian's system python3 (python3-torch):

    /usr/bin/python3 engine/core/src/test/python/make_torch_fixtures.py

For each case, engine/core/src/test/resources/fixtures/torch/ gets
- <name>.safetensors: the module's state_dict under PyTorch's own key names
  (lstm.weight_ih_l0, lstm.weight_hh_l0_reverse, lstm.weight_hr_l0, emb.weight, fc.bias, ...),
  exactly as safetensors.torch.save_file would write it (float32);
- <name>.json: the jrnn model description (inputs, the layer sequence, outputs);
- <name>.io.safetensors: inputs ("in.<name>") and PyTorch's outputs ("out.<name>").
index.txt lists the cases.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "torch")
names = []


def save(name, module, description, inputs, outputs):
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    write_safetensors(os.path.join(OUT, name + ".safetensors"), state, {"format": "pt"})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(description, f)
        f.write("\n")
    tensors = {f"in.{k}": np.asarray(v) for k, v in inputs.items()}
    tensors.update({f"out.{k}": v.detach().numpy() for k, v in outputs.items()})
    write_safetensors(os.path.join(OUT, name + ".io.safetensors"), tensors, {"source": name})
    names.append(name)


class Classifier(torch.nn.Module):
    """Embedding, 2-layer bidirectional batch-first LSTM, last step, linear, log-softmax."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(40, 10)
        self.rnn = torch.nn.LSTM(10, 16, num_layers=2, bidirectional=True, batch_first=True)
        self.drop = torch.nn.Dropout(0.3)
        self.fc = torch.nn.Linear(32, 4)

    def forward(self, ids):
        y, _ = self.rnn(self.emb(ids))
        return torch.log_softmax(self.fc(self.drop(y[:, -1, :])), -1)


class ProjectedLstm(torch.nn.Module):
    """Time-major LSTM with proj_size, initial and final states."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 12, proj_size=5, num_layers=2)

    def forward(self, x, h0, c0):
        return self.lstm(x, (h0, c0))


class PackedGru(torch.nn.Module):
    """Two-layer GRU over a padded batch of unequal lengths (pack_padded_sequence)."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.GRU(5, 9, num_layers=2)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        y, h = self.encoder(packed)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=x.shape[0])
        return y, h


class ReluTagger(torch.nn.Module):
    """Batch-first ReLU RNN without biases, then a per-step linear layer and a sigmoid."""

    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(4, 7, nonlinearity="relu", bias=False, batch_first=True)
        self.head = torch.nn.Linear(7, 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.sigmoid(self.head(y))


class ReverseGruLm(torch.nn.Module):
    """Sequential container keys (layers.0.weight ...): embedding, bidirectional GRU, softmax."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.Embedding(25, 6), torch.nn.GRU(6, 8, bidirectional=True),
             torch.nn.Linear(16, 25)])

    def forward(self, ids):
        y, _ = self.layers[1](self.layers[0](ids))
        return torch.softmax(self.layers[2](y), -1)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(5)

    m = Classifier().eval()
    ids = torch.randint(0, 40, (3, 7))
    save("classifier", m, {
        "inputs": [{"name": "ids", "dtype": "int32", "dims": ["N", "T"]}],
        "layers": [
            {"type": "embedding", "module": "emb"},
            {"type": "lstm", "module": "rnn", "batch_first": True},
            {"type": "last_step"},
            {"type": "dropout"},
            {"type": "linear", "module": "fc"},
            {"type": "log_softmax"},
        ],
        "output": "log_probs",
    }, {"ids": ids.numpy()}, {"log_probs": m(ids)})

    m = ProjectedLstm().eval()
    x, h0, c0 = torch.randn(6, 2, 6), torch.randn(2, 2, 5), torch.randn(2, 2, 12)
    y, (h, c) = m(x, h0, c0)
    save("projected_lstm", m, {
        "inputs": [{"name": "x", "dtype": "float32", "dims": ["T", "N", 6]}],
        "layers": [{"type": "lstm", "module": "lstm", "initial_state": ["h0", "c0"],
                    "final_state": ["h_n", "c_n"]}],
        "output": "y",
    }, {"x": x.numpy(), "h0": h0.numpy(), "c0": c0.numpy()}, {"y": y, "h_n": h, "c_n": c})

    m = PackedGru().eval()
    x, lengths = torch.randn(5, 4, 5), torch.tensor([5, 2, 4, 1])
    y, h = m(x, lengths)
    save("packed_gru", m, {
        "inputs": [{"name": "x", "dtype": "float32", "dims": ["T", "N", 5]},
                   {"name": "lengths", "dtype": "int32", "dims": ["N"]}],
        "lengths": "lengths",
        "layers": [{"type": "gru", "module": "encoder", "final_state": ["h_n"]}],
        "output": "y",
    }, {"x": x.numpy(), "lengths": lengths.numpy().astype(np.int32)}, {"y": y, "h_n": h})

    m = ReluTagger().eval()
    x = torch.randn(2, 6, 4)
    save("relu_tagger", m, {
        "inputs": [{"name": "x", "dtype": "float32", "dims": ["N", "T", 4]}],
        "layers": [
            {"type": "rnn", "module": "rnn", "nonlinearity": "relu", "batch_first": True},
            {"type": "linear", "module": "head"},
            {"type": "sigmoid"},
        ],
        "output": "p",
    }, {"x": x.numpy()}, {"p": m(x)})

    m = ReverseGruLm().eval()
    ids = torch.randint(0, 25, (4, 2))
    save("bigru_lm", m, {
        "inputs": [{"name": "ids", "dtype": "int32", "dims": ["T", "N"]}],
        "layers": [
            {"type": "embedding", "module": "layers.0"},
            {"type": "gru", "module": "layers.1"},
            {"type": "linear", "module": "layers.2"},
            {"type": "softmax"},
        ],
        "output": "probs",
    }, {"ids": ids.numpy()}, {"probs": m(ids)})

    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"wrote {len(names)} PyTorch state_dict fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

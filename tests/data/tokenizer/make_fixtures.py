#!/usr/bin/env python3
"""Writes the tiny tokenizer.json fixtures in this directory (our own toy BPE, trained here on
src/tokenizer/corpus.txt). Re-run only to regenerate: python3 make_fixtures.py"""
import collections, json, os, re

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = open(os.path.join(HERE, "../../../src/tokenizer/corpus.txt"), encoding="utf-8").read()


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = list(keep), 0
    out = {}
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def train(words, base_symbols, n_merges):
    """words: Counter of tuples of symbols. Returns list of merges (a, b)."""
    words = {tuple(w): c for w, c in words.items()}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return merges


def bytelevel():
    b2u = bytes_to_unicode()
    pieces = re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", CORPUS)
    words = collections.Counter(tuple(b2u[b] for b in p.encode()) for p in pieces)
    merges = train(words, None, 300)
    vocab = {b2u[b]: b for b in range(256)}
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    added = [{"id": len(vocab), "content": "<|endoftext|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True},
             {"id": len(vocab) + 1, "content": "<|tiny_sep|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": False}]
    regex = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
             "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def sentencepiece():
    text = "\u2581" + CORPUS.replace("\n", " ").replace(" ", "\u2581")
    pieces = re.findall("\u2581?[^\u2581]+|\u2581+", text)
    words = collections.Counter(tuple(p) for p in pieces)
    merges = train(words, None, 300)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for ch in sorted(set(CORPUS.replace("\n", "").replace(" ", "\u2581")) | {"\u2581"}):
        vocab.setdefault(ch, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for c, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }


def gpt2_style():
    """GPT-2 style: ByteLevel pre-tokenizer with its own regex (and a prefix space)."""
    tj = bytelevel()
    tj["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return tj


def metaspace():
    """Metaspace pre-tokenizer/decoder (older SentencePiece conversions) instead of normalizers."""
    tj = sentencepiece()
    tj["normalizer"] = None
    tj["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    tj["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return tj


def added_flags():
    """Added tokens with lstrip / rstrip / single_word (byte-level model otherwise)."""
    tj = bytelevel()
    n = len(tj["model"]["vocab"]) + 2
    for i, (content, l, r, w) in enumerate((("<mask>", True, False, False), ("<sep>", False, True, False),
                                             ("<both>", True, True, False), ("word", False, False, True),
                                             ("[X]", True, True, True))):
        tj["added_tokens"].append({"id": n + i, "content": content, "single_word": w, "lstrip": l, "rstrip": r,
                                   "normalized": False, "special": i % 2 == 0})
    return tj


def falcon_style():
    """Punctuation + Digits + ByteLevel pre-tokenizers (Falcon-like), NFC normalizer."""
    tj = bytelevel()
    tj["normalizer"] = {"type": "NFC"}
    tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "Digits", "individual_digits": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    return tj


for name, tj in (("tiny_bytelevel.json", bytelevel()), ("tiny_added.json", added_flags()),
                 ("tiny_falcon.json", falcon_style()), ("tiny_sentencepiece.json", sentencepiece()),
                 ("tiny_gpt2.json", gpt2_style()), ("tiny_metaspace.json", metaspace())):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
        f.write("\n")

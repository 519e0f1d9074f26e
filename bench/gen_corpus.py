#!/usr/bin/env python3
"""Writes a deterministic word corpus of about SIZE MiB for the benchmarks.

Usage: bench/gen_corpus.py SIZE_MIB OUT_FILE

Words come from a Zipf-like vocabulary of 50,000 entries (ASCII and some
accented words, mixed case and punctuation) so the word count's hash table
and Unicode paths both do real work. The same arguments always give the same
bytes.
"""

import random
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    size = int(float(sys.argv[1]) * 1024 * 1024)
    out = sys.argv[2]
    rng = random.Random(20261125)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sta", "vel", "qu", "é", "ör", "th", "an", "is"]
    vocab = []
    for i in range(50_000):
        word = "".join(rng.choice(syllables) for _ in range(1 + i % 4))
        if i % 7 == 0:
            word = word.capitalize()
        vocab.append(word)
    # Zipf-like: the rank r word is chosen with weight 1 / (r + 1).
    weights = [1.0 / (r + 1) for r in range(len(vocab))]
    punctuation = [" ", " ", " ", ", ", ". ", " - ", "; "]
    written = 0
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        while written < size:
            words = rng.choices(vocab, weights, k=2000)
            lines = []
            for i in range(0, len(words), 10):
                line = "".join(w + rng.choice(punctuation) for w in words[i:i + 10]).rstrip()
                lines.append(line)
            block = "\n".join(lines) + "\n"
            f.write(block)
            written += len(block.encode("utf-8"))


if __name__ == "__main__":
    main()

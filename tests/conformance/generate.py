#!/usr/bin/env python3
"""Writes the conformance programs of flowc: each case is a folder with a
`job.flow`, its input data, optional extra `args` for `flowc run`, and the
expected result computed here, independently of flowc, in plain Python:

- `expected.json`: what `flowc run --format json` prints on success;
- `expected.txt`: for failures, `exit: N` then lines that must all appear
  in standard error;
- `expected_files/`: for jobs that write outputs with `to "path"`, the files
  they must write (compared after parsing, see tests/conformance.rs).

Run it from anywhere: `python3 tests/conformance/generate.py`. It rewrites
every case folder it knows and leaves others alone. Values follow the
semantics of docs/language.md: keyed results and `collect` are sorted in
natural order, float sums and means are correctly rounded (math.fsum and
exact fractions), `top`/`bottom` break ties by the smaller element.
"""

import json
import math
import os
import random
import re
import shutil
import subprocess
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def flow_rand(seed):
    """rand(seed) as LANGUAGE.md and docs/runtime.md define it: SplitMix64 of
    the seed, top 53 bits over 2^53."""
    return (mix64((seed + GOLDEN) & MASK) >> 11) * (1.0 / 9007199254740992.0)


def exact_mean(values):
    total = sum((Fraction(v) for v in values), Fraction(0))
    return float(total / len(values))


def words(text):
    """Maximal runs of Unicode alphanumeric characters."""
    out, cur = [], []
    for ch in text:
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def top(items, n, key):
    return sorted(items, key=lambda x: (neg(key(x)), x))[:n]


def neg(k):
    if isinstance(k, tuple):
        raise ValueError("tuple keys: not used here")
    return -k


def bottom(items, n, key):
    return sorted(items, key=lambda x: (key(x), x))[:n]


CASES = {}


def case(name, job, files=None, expected=None, error=None, args=None, out_files=None,
         tools=None, copies=None):
    """`tools` maps the path of an `extern fn` module to its WebAssembly text:
    the `.wat` is written beside it and assembled into the `.wasm`.
    `copies` maps a path in the case to a file of the repository to copy."""
    CASES[name] = dict(job=job, files=files or {}, expected=expected, error=error,
                       args=args or [], out_files=out_files or {}, tools=tools or {},
                       copies=copies or {})


def text_corpus():
    rng = random.Random(7)
    vocab = ["the", "River", "river", "stone", "Été", "naïve", "x1", "flow", "peer",
             "a", "b42", "ZEBRA", "zebra", "ünïcode", "cat", "dog"]
    lines = []
    for _ in range(400):
        n = rng.randint(0, 9)
        sep = rng.choice([" ", ", ", " - ", "  ", ". "])
        lines.append(sep.join(rng.choice(vocab) for _ in range(n)))
    return lines


LINES = text_corpus()
A_TXT = "\n".join(LINES[:250]) + "\n"
B_TXT = "\r\n".join(LINES[250:]) + "\r\n"
C_TXT = "last line without newline\nand another"
TEXT_FILES = {"data/a.txt": A_TXT, "data/b.txt": B_TXT, "data/c.txt": C_TXT}
ALL_LINES = LINES[:250] + LINES[250:] + ["last line without newline", "and another"]

# 1. Count lines of LF, CRLF and unterminated files.
case("lines_count", 'input text = lines("data/*.txt")\noutput line_count = text |> count()\n',
     TEXT_FILES, {"line_count": len(ALL_LINES)})

# 2. Word count with top.
counts = {}
for line in ALL_LINES:
    for w in words(line.lower()):
        counts[w] = counts.get(w, 0) + 1
pairs = sorted(counts.items())
case("wordcount_top", '''input text = lines("data/*.txt")
fn tokens(line: str) -> [str] = line |> lower |> words
output top_words = text |> flat_map(tokens) |> count_by(w => w) |> top(5, by: p => p.1)
output distinct_words = text |> flat_map(tokens) |> distinct() |> collect()
''', TEXT_FILES, {
    "top_words": [list(p) for p in top(pairs, 5, lambda p: p[1])],
    "distinct_words": sorted(counts),
})

# CSV weather data.
rng = random.Random(11)
cities = ["Oslo", "Lima", "Pune", "Quito", "Accra", "Hanoi, VN"]
rows = []
for i in range(600):
    rows.append((rng.choice(cities), round(rng.uniform(-20, 40), 2), rng.randint(0, 500)))


def csv_field(s):
    if any(c in s for c in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_text(rows, header, crlf=False):
    nl = "\r\n" if crlf else "\n"
    out = [",".join(header)]
    for r in rows:
        out.append(",".join(csv_field(str(v)) for v in r))
    return nl.join(out) + nl


WEATHER = {
    "data/w1.csv": csv_text([(c, t, n, "note") for c, t, n in rows[:300]], ["city", "temp", "rain", "notes"]),
    "data/w2.csv": csv_text([(n, c, t) for c, t, n in rows[300:]], ["rain", "city", "temp"], crlf=True),
}
ROW = "type Reading = { city: str, temp: float, rain: int }\ninput readings: Reading = csv(\"data/*.csv\")\n"

by_city = {}
for c, t, n in rows:
    by_city.setdefault(c, []).append(t)
case("csv_aggregations", ROW + '''output n = readings |> count()
output total_rain = readings |> map(r => r.rain) |> sum()
output mean_temp = readings |> map(r => r.temp) |> mean()
output temp_sum_by_city = readings |> sum_by(r => r.city, r => r.temp)
output rain_by_city = readings |> sum_by(r => r.city, r => r.rain)
output hottest = readings |> map(r => r.temp) |> max()
output coldest = readings |> map(r => (r.temp, r.city)) |> min()
''', WEATHER, {
    "n": len(rows),
    "total_rain": sum(n for _, _, n in rows),
    "mean_temp": exact_mean([t for _, t, _ in rows]),
    "temp_sum_by_city": [[c, math.fsum(by_city[c])] for c in sorted(by_city)],
    "rain_by_city": [[c, sum(n for cc, _, n in rows if cc == c)] for c in sorted(by_city)],
    "hottest": max(t for _, t, _ in rows),
    "coldest": list(min((t, c) for c, t, _ in rows)),
})

case("csv_filter_records", ROW + '''param limit: float = 30.0
output hot = readings |> filter(r => r.temp > limit) |> map(r => r.city) |> distinct() |> collect()
output hot_rows = readings |> filter(r => r.temp > limit and r.rain > 400) |> collect()
''', WEATHER, {
    "hot": sorted({c for c, t, _ in rows if t > 30.0}),
    "hot_rows": [{"city": c, "temp": t, "rain": n} for (c, t, n) in sorted(
        (c, t, n) for c, t, n in rows if t > 30.0 and n > 400)],
})

case("params_override", ROW + '''param limit: float = 30.0
param city: str = "Oslo"
output hot_in_city = readings |> filter(r => r.temp > limit and r.city == city) |> count()
''', WEATHER, {
    "hot_in_city": sum(1 for c, t, _ in rows if t > 10.5 and c == "Lima"),
}, args=["--param", "limit=10.5", "--param", "city=Lima"])

# JSON lines.
rng = random.Random(5)
events = []
for i in range(300):
    events.append({"user": rng.choice(["ann", "bo", "cy", "dee"]), "ms": rng.randint(1, 900),
                   "tags": rng.sample(["a", "b", "c", "d", "e"], rng.randint(0, 3)),
                   "extra": {"ignored": True}})
JSONL = {"data/e1.jsonl": "\n".join(json.dumps(e) for e in events[:150]) + "\n",
         "data/e2.jsonl": "\r\n".join(json.dumps(e) for e in events[150:]) + "\r\n\r\n"}
EVENT = 'type Event = { user: str, ms: int, tags: [str] }\ninput events: Event = jsonl("data/*.jsonl")\n'
tag_counts = {}
for e in events:
    for t in e["tags"]:
        tag_counts[t] = tag_counts.get(t, 0) + 1
slowest = {}
for e in events:
    slowest[e["user"]] = max(slowest.get(e["user"], 0), e["ms"])
case("jsonl_keyed", EVENT + '''output tags = events |> flat_map(e => e.tags) |> count_by(t => t)
output slowest = events |> reduce_by(e => e.user, e => e.ms, (a, b) => max(a, b))
output by_user = events |> count_by(e => e.user) |> sort(by: p => -p.1)
''', JSONL, {
    "tags": [[t, tag_counts[t]] for t in sorted(tag_counts)],
    "slowest": [[u, slowest[u]] for u in sorted(slowest)],
    "by_user": [list(p) for p in sorted(
        ((u, sum(1 for e in events if e["user"] == u)) for u in slowest), key=lambda p: (-p[1], p))],
})

# files.
DOCS = {"docs/a.md": "# A\nalpha beta\n", "docs/sub/b.md": "gamma\n", "docs/sub/deeper/c.md": "",
        "docs/skip.txt": "not matched"}
case("files_input", '''input docs = files("docs/**/*.md")
output sizes = docs |> map(d => (d.0, len(d.1))) |> collect()
output line_total = docs |> map(d => len(split(d.1, "\\n"))) |> sum()
''', DOCS, {
    "sizes": sorted([[p, len(t)] for p, t in DOCS.items() if p.endswith(".md")]),
    "line_total": sum(len(t.split("\n")) for p, t in DOCS.items() if p.endswith(".md")),
})

# range.
N = 1_000_000
case("range_numbers", f'''input ids = range(0, {N})
output total = ids |> sum()
output evens = ids |> filter(i => i % 2 == 0) |> count()
output smallest = ids |> min()
output largest = ids |> map(i => i * 3 - 7) |> max()
output average = ids |> mean()
output squares = ids |> map(i => float(i) * float(i)) |> sum()
''', {}, {
    "total": N * (N - 1) // 2,
    "evens": N // 2,
    "smallest": 0,
    "largest": (N - 1) * 3 - 7,
    "average": float(Fraction(N * (N - 1) // 2, N)),
    "squares": math.fsum(float(i) * float(i) for i in range(N)),
})


def collatz(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


case("range_collatz", '''input starts = range(1, 30000)
fn steps(n: int, acc: int) -> int =
  if n == 1 then acc
  else if n % 2 == 0 then steps(n / 2, acc + 1)
  else steps(3 * n + 1, acc + 1)
output longest = starts |> map(n => (steps(n, 0), n)) |> max()
output total_steps = starts |> map(n => steps(n, 0)) |> sum()
''', {}, {
    "longest": list(max((collatz(n), n) for n in range(1, 30000))),
    "total_steps": sum(collatz(n) for n in range(1, 30000)),
})

M = 200_000
inside = sum(1 for i in range(M) if flow_rand(2 * i) ** 2 + flow_rand(2 * i + 1) ** 2 < 1.0)
case("montecarlo_rand", f'''input samples = range(0, {M})
fn inside(i: int) -> bool = {{
  let x = rand(2 * i);
  let y = rand(2 * i + 1);
  x * x + y * y < 1.0
}}
output hits = samples |> filter(inside) |> count()
output pi = 4.0 * float(samples |> filter(inside) |> count()) / {M}.0
''', {}, {"hits": inside, "pi": 4.0 * float(inside) / float(M)})

# Multi-phase.
vals = [rng.randint(-1000, 1000) for _ in range(500)]
VALS = {"data/v.txt": "\n".join(str(v) for v in vals) + "\n"}
mean_v = exact_mean(vals)
case("multi_phase_outliers", '''input raw = lines("data/*.txt")
let values = raw |> map(to_int)
let mean_value = values |> map(float) |> mean()
output above = values |> filter(v => float(v) > mean_value) |> count()
output mean_value_out = mean_value
output spread = values |> map(v => abs(float(v) - mean_value)) |> max()
''', VALS, {
    "above": sum(1 for v in vals if float(v) > mean_v),
    "mean_value_out": mean_v,
    "spread": max(abs(float(v) - mean_v) for v in vals),
})

total_words = sum(counts.values())
case("multi_phase_share", '''input text = lines("data/*.txt")
let all_words = text |> flat_map(l => words(lower(l)))
let total = all_words |> count()
output share = all_words |> count_by(w => w) |> map(p => (p.0, float(p.1) / float(total))) |> top(3, by: p => p.1)
''', TEXT_FILES, {
    "share": [[w, c / total_words] for w, c in top(pairs, 3, lambda p: p[1])],
})

case("reduce_and_sort", f'''input ids = range(1, 2000)
output biggest_mod = ids |> map(i => (i * 7919) % 1000) |> reduce((a, b) => max(a, b))
output product_small = [1, 2, 3, 4, 5] |> reduce((a, b) => a * b)
output sorted_tail = ids |> map(i => (i * 37) % 101) |> sort() |> len
output lowest = ids |> bottom(4, by: i => (i * 37) % 101)
output highest = ids |> top(4, by: i => (i * 37) % 101)
output sorted_by = [5, 3, 9, 1, 3] |> sort(by: x => -x)
''', {}, {
    "biggest_mod": max((i * 7919) % 1000 for i in range(1, 2000)),
    "product_small": 120,
    "sorted_tail": 1999,
    "lowest": bottom(list(range(1, 2000)), 4, lambda i: (i * 37) % 101),
    "highest": top(list(range(1, 2000)), 4, lambda i: (i * 37) % 101),
    "sorted_by": [9, 5, 3, 3, 1],
})

case("text_functions", '''output t = trim("  a b  ")
output u = upper("straße")
output lo = lower("ÀB")
output r = replace("a-b-c", "-", "+")
output s = substr("héllo", 1, 3)
output c = (contains("abc", "bc"), starts_with("abc", "ab"), ends_with("abc", "bc"))
output sp = split("a,b,,c", ",")
output j = join(["x", "y", "z"], "/")
output w = words("Hi, there! x2 ünï-code")
output n = (len("héllo"), to_int("-42"), to_float("2.5"), str(7), str(true), str(1.5))
output m = (matches("abc123", "[0-9]+"), matches("abc", "^b"))
''', {}, {
    "t": "a b", "u": "STRASSE", "lo": "àb", "r": "a+b+c", "s": "éll",
    "c": [True, True, True], "sp": ["a", "b", "", "c"], "j": "x/y/z",
    "w": ["Hi", "there", "x2", "ünï", "code"], "n": [5, -42, 2.5, "7", "true", "1.5"],
    "m": [True, False],
})

case("number_functions", '''output a = (abs(-3), abs(-2.5), min(3, 4), max(2.5, 1.0))
output b = (sqrt(2.0), pow(2.0, 10.0), floor(2.7), ceil(2.1), round(2.5), round(-2.5))
output c = (float(3), int(3.9), int(-3.9), 7 / 2, -7 / 2, 7 % 3, -7 % 3)
output d = (1 < 2, "a" < "b", (1, "b") < (1, "c"), [1, 2] < [1, 2, 0], 2.0 >= 2.0)
''', {}, {
    "a": [3, 2.5, 3, 2.5],
    "b": [math.sqrt(2.0), 1024.0, 2, 3, 3, -3],
    "c": [3.0, 3, -3, 3, -3, 1, -1],
    "d": [True, True, True, True, True],
})

case("functions_lists_records", '''type Point = { x: int, y: int }
fn norm1(p: Point) -> int = abs(p.x) + abs(p.y)
fn stats(xs: [int]) -> (int, int, int) = (len(xs), xs |> sum(), xs |> max())
fn evens(xs: [int]) -> [int] = xs |> filter(x => x % 2 == 0)
output point = Point { x: 3, y: -4 }
output n = norm1(Point { x: 3, y: -4 })
output summary = stats([4, 8, 15, 16, 23, 42])
output e = evens([1, 2, 3, 4, 5, 6]) + [100]
output g = get([10, 20, 30], 1)
output nested = [[1, 2], [3]] |> flat_map(xs => xs) |> map(x => x * 10)
output keyed = ["b", "a", "b", "c", "b"] |> count_by(s => s)
output block = { let k = 6; let m = k * 7; m }
''', {}, {
    "point": {"x": 3, "y": -4}, "n": 7, "summary": [6, 108, 42], "e": [2, 4, 6, 100], "g": 20,
    "nested": [10, 20, 30], "keyed": [["a", 1], ["b", 3], ["c", 1]], "block": 42,
})

# Outputs to files.
case("outputs_to_files", ROW + '''output per_city = readings |> count_by(r => r.city) to "out/per_city.csv"
output rows_hot = readings |> filter(r => r.temp > 39.0) |> collect() to "out/nested/hot.jsonl"
output summary = (readings |> count(), readings |> map(r => r.rain) |> max()) to "out/summary.json"
output shown = readings |> count()
''', WEATHER, {"shown": len(rows)}, out_files={
    "out/per_city.csv": [["_0", "_1"]] + [[c, str(sum(1 for cc, _, _ in rows if cc == c))] for c in sorted(by_city)],
    "out/nested/hot.jsonl": [{"city": c, "temp": t, "rain": n} for (c, t, n) in sorted(
        (c, t, n) for c, t, n in rows if t > 39.0)],
    "out/summary.json": [len(rows), max(n for _, _, n in rows)],
})

# Float sums that cancel: the correctly rounded sum is exact whatever the split.
floats = []
for i in range(300):
    floats += [1e100, 1.0 + i * 1e-3, -1e100]
FLOATS = {"data/f.txt": "\n".join(repr(f) for f in floats) + "\n"}
case("exact_float_sum", '''input raw = lines("data/*.txt")
output total = raw |> map(to_float) |> sum()
output average = raw |> map(to_float) |> mean()
''', FLOATS, {"total": math.fsum(floats), "average": exact_mean(floats)})

# Run-time errors.
case("error_overflow", '''input ids = range(0, 100)
output big = ids |> map(i => 9223372036854775807 - 50 + i) |> sum()
''', {}, error=["exit: 1", "overflow"])
case("error_division_by_zero", '''input ids = range(0, 100)
output q = ids |> map(i => 100 / (i - 57)) |> sum()
''', {}, error=["exit: 1", "division by zero", "57"])
case("error_bad_csv_field", ROW + 'output n = readings |> count()\n',
     {"data/w.csv": "city,temp,rain\nOslo,1.5,3\nLima,warm,4\n"}, error=["exit: 1", "data/w.csv", "line 3", "temp"])
case("error_bad_utf8_csv", ROW + 'output n = readings |> count()\n',
     {"data/w.csv": b"city,temp,rain\nOslo,1.5,3\nLi\xffma,2.5,4\nRome,3.5,0\n"},
     error=["exit: 1", "data/w.csv", "line 3", "invalid UTF-8 at byte 3 of the line"])
case("error_missing_column", ROW + 'output n = readings |> count()\n',
     {"data/w.csv": "city,temp\nOslo,1.5\n"}, error=["exit: 1", "data/w.csv", "rain"])
case("error_to_int", '''input raw = lines("data/*.txt")
output total = raw |> map(to_int) |> sum()
''', {"data/n.txt": "1\n2\nthree\n4\n"}, error=["exit: 1", "data/n.txt", "line 3", "three"])
case("error_bad_utf8", '''input raw = lines("data/*.txt")
output n = raw |> flat_map(words) |> count()
''', {"data/t.txt": b"caf\xc3\xa9 ok\nfine\nbad \xff byte\nafter\n"},
     error=["exit: 1", "data/t.txt", "line 3", "invalid UTF-8 at byte 5 of the line"])
case("error_min_of_empty", '''input ids = range(0, 10)
output m = ids |> filter(i => i > 100) |> min()
''', {}, error=["exit: 1", "empty"])
case("error_glob_matches_nothing", '''input raw = lines("nothing/*.txt")
output n = raw |> count()
''', {}, error=["exit: 1", "nothing/*.txt"])
case("error_bad_param", '''param n: int = 3
input ids = range(0, n)
output total = ids |> sum()
''', {}, error=["exit: 2", "E06", "n"], args=["--param", "n=three"])
case("error_program", '''input ids = range(0, 10)
output total = ids |> summ()
''', {}, error=["exit: 2", "E0101", "sum"])


# `extern fn` tools, written in WebAssembly text. Each module imports
# nothing and exports `memory` and `flow_alloc` (LANGUAGE.md section 8).

MATH_WAT = """;; Integer, float and bool functions for the extern_numbers case. A start
;; function sets $half, so a stage module that did not run it computes 0.
(module
  (memory (export "memory") 1)
  (global $half (mut f64) (f64.const 0))
  (func $init (global.set $half (f64.const 0.5)))
  (start $init)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "collatz_steps") (param $n i64) (result i64)
    (local $steps i64)
    (block $done
      (loop $next
        (br_if $done (i64.le_s (local.get $n) (i64.const 1)))
        (if (i64.eqz (i64.and (local.get $n) (i64.const 1)))
          (then (local.set $n (i64.shr_s (local.get $n) (i64.const 1))))
          (else (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
        (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
        (br $next)))
    (local.get $steps))
  ;; Answers 7 for true: any non-zero i32 is true.
  (func (export "is_prime") (param $n i64) (result i32)
    (local $d i64)
    (if (i64.lt_s (local.get $n) (i64.const 2)) (then (return (i32.const 0))))
    (local.set $d (i64.const 2))
    (block $done
      (loop $next
        (br_if $done (i64.gt_s (i64.mul (local.get $d) (local.get $d)) (local.get $n)))
        (if (i64.eqz (i64.rem_s (local.get $n) (local.get $d))) (then (return (i32.const 0))))
        (local.set $d (i64.add (local.get $d) (i64.const 1)))
        (br $next)))
    (i32.const 7))
  (func (export "scale") (param $x f64) (param $k i64) (result f64)
    (f64.mul (local.get $x) (f64.convert_i64_s (local.get $k))))
  (func (export "halve") (param $x f64) (result f64)
    (f64.mul (local.get $x) (global.get $half))))
"""

TEXT_WAT = """;; String functions for the extern_text case. A bump allocator hands out
;; memory from 4096 on; every export resets it when it returns, since the
;; caller copies a result out before it allocates again. The separator of
;; `pair` comes from a data segment.
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 16) "<->")
  (func $alloc (export "flow_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (block $enough
      (loop $grow
        (br_if $enough (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then (unreachable)))
        (br $grow)))
    (local.get $ptr))
  (func $result (param $ptr i32) (param $len i32) (result i64)
    (global.set $next (i32.const 4096))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "reverse") (param $s i32) (param $len i32) (result i64)
    (local $out i32) (local $i i32)
    (local.set $out (call $alloc (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8
          (i32.add (local.get $out) (local.get $i))
          (i32.load8_u (i32.sub (i32.add (local.get $s) (local.get $len))
                                (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $result (local.get $out) (local.get $len)))
  (func (export "pair") (param $a i32) (param $a_len i32) (param $b i32) (param $b_len i32) (result i64)
    (local $out i32) (local $len i32)
    (local.set $len (i32.add (i32.add (local.get $a_len) (i32.const 3)) (local.get $b_len)))
    (local.set $out (call $alloc (local.get $len)))
    (memory.copy (local.get $out) (local.get $a) (local.get $a_len))
    (memory.copy (i32.add (local.get $out) (local.get $a_len)) (i32.const 16) (i32.const 3))
    (memory.copy (i32.add (i32.add (local.get $out) (local.get $a_len)) (i32.const 3))
                 (local.get $b) (local.get $b_len))
    (call $result (local.get $out) (local.get $len)))
  (func (export "vowels") (param $s i32) (param $len i32) (result i64)
    (local $i i32) (local $count i64) (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.or (i32.load8_u (i32.add (local.get $s) (local.get $i))) (i32.const 32)))
        (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 97)) (i32.eq (local.get $c) (i32.const 101)))
                    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 105)) (i32.eq (local.get $c) (i32.const 111)))
                            (i32.eq (local.get $c) (i32.const 117))))
          (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.set $next (i32.const 4096))
    (local.get $count))
  (func (export "repeat") (param $s i32) (param $len i32) (param $n i64) (result i64)
    (local $out i32) (local $k i32) (local $times i32)
    (local.set $times (i32.wrap_i64 (select (i64.const 0) (local.get $n) (i64.lt_s (local.get $n) (i64.const 0)))))
    (local.set $out (call $alloc (i32.mul (local.get $len) (local.get $times))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $times)))
        (memory.copy (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $len)))
                     (local.get $s) (local.get $len))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (call $result (local.get $out) (i32.mul (local.get $len) (local.get $times)))))
"""

LEVEL_WAT = """;; The length of a line, and a trap (`unreachable`) on a line that starts
;; with `!`: the error_extern_trap case.
(module
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "level") (param $s i32) (param $len i32) (result i64)
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (local.get $s)) (i32.const 33)))
      (then (unreachable)))
    (i64.extend_i32_u (local.get $len))))
"""

IMPORTING_WAT = """;; Not a tool: it imports a function (error_extern_bad_module).
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "score") (param i32 i32) (result f64) (f64.const 0)))
"""

WRONG_SIGNATURE_WAT = """;; `score` answers an i32 where `-> float` needs an f64
;; (error_extern_signature).
(module
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "score") (param i32 i32) (result i32) (i32.const 0)))
"""


def collatz_steps(n):
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def is_prime(n):
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


IDS = range(1, 3000)
case("extern_numbers", '''extern fn collatz_steps(n: int) -> int from "tools/math.wasm"
extern fn is_prime(n: int) -> bool from "tools/math.wasm"
extern fn scale(x: float, k: int) -> float from "tools/math.wasm"
extern fn halve(x: float) -> float from "tools/math.wasm"

input ids = range(1, 3000)
output steps = ids |> map(collatz_steps) |> sum()
output longest = ids |> map(n => collatz_steps(n)) |> max()
output primes = ids |> filter(is_prime) |> count()
output scaled = ids |> map(n => scale(float(n), 3)) |> sum()
output big_halves = ids |> map(n => halve(float(n))) |> filter(x => x > 1000.0) |> count()
output direct = (collatz_steps(27), is_prime(97), is_prime(91), halve(3.0))
''', {}, {
    "steps": sum(collatz_steps(n) for n in IDS),
    "longest": max(collatz_steps(n) for n in IDS),
    "primes": sum(1 for n in IDS if is_prime(n)),
    "scaled": math.fsum(float(n) * 3 for n in IDS),
    "big_halves": sum(1 for n in IDS if n * 0.5 > 1000.0),
    "direct": [collatz_steps(27), True, False, 1.5],
}, tools={"tools/math.wasm": MATH_WAT})

rng = random.Random(23)
TOOL_WORDS = ["flow", "peer", "Stone", "river", "a", "IO", "queue", "sky", "audio", "x"]
WORD_LINES = [rng.choice(TOOL_WORDS) for _ in range(300)] + [""]
case("extern_text", '''extern fn reverse(s: str) -> str from "tools/text.wasm"
extern fn pair(a: str, b: str) -> str from "tools/text.wasm"
extern fn vowels(s: str) -> int from "tools/text.wasm"
extern fn repeat(s: str, n: int) -> str from "tools/text.wasm"

input terms = lines("data/*.txt")
output reversed = terms |> map(reverse) |> distinct() |> collect()
output vowel_count = terms |> map(vowels) |> sum()
output paired = terms |> map(w => pair(w, upper(w))) |> count_by(p => p)
output repeated = terms |> filter(w => len(w) < 4) |> map(w => repeat(w, 3)) |> distinct() |> collect()
output direct = (reverse("flow"), pair("été", "ünï"), repeat("ab", 0), vowels(""))
''', {"data/words.txt": "\n".join(WORD_LINES) + "\n"}, {
    "reversed": sorted({w[::-1] for w in WORD_LINES}),
    "vowel_count": sum(sum(1 for c in w.lower() if c in "aeiou") for w in WORD_LINES),
    "paired": [[w + "<->" + w.upper(), WORD_LINES.count(w)] for w in sorted(set(WORD_LINES))],
    "repeated": sorted({w * 3 for w in WORD_LINES if len(w) < 4}),
    "direct": ["wolf", "été<->ünï", "", 0],
}, tools={"tools/text.wasm": TEXT_WAT})

case("error_extern_trap", '''extern fn level(s: str) -> int from "tools/level.wasm"
input rows = lines("data/levels.txt")
output total = rows |> map(r => level(r)) |> sum()
''', {"data/levels.txt": "ok\nfine\n!boom\nok\n"},
     error=["exit: 1", "extern fn `level`", "unreachable", "data/levels.txt line 3", "level(r)"],
     tools={"tools/level.wasm": LEVEL_WAT})
case("error_extern_missing_module", '''extern fn score(s: str) -> float from "tools/none.wasm"
input rows = lines("data/*.txt")
output total = rows |> map(score) |> sum()
''', {"data/a.txt": "x\n"}, error=["exit: 2", "E0703", "tools/none.wasm", "no such file"])
case("error_extern_bad_module", '''extern fn score(s: str) -> float from "tools/importing.wasm"
input rows = lines("data/*.txt")
output total = rows |> map(score) |> sum()
''', {"data/a.txt": "x\n"}, error=["exit: 2", "E0704", "imports `env::log`"],
     tools={"tools/importing.wasm": IMPORTING_WAT})
case("error_extern_signature", '''extern fn score(s: str) -> float from "tools/score.wasm"
input rows = lines("data/*.txt")
output total = rows |> map(score) |> sum()
''', {"data/a.txt": "x\n"},
     error=["exit: 2", "E0705", "func (i32, i32) -> (i32)", "func (i32, i32) -> (f64)"],
     tools={"tools/score.wasm": WRONG_SIGNATURE_WAT})

# examples/reviews, with its tool built from Rust: the sentiment score
# recomputed here from the tool's definition (tools/score/src/lib.rs).
REPO = os.path.dirname(os.path.dirname(HERE))
REVIEWS = os.path.join(REPO, "examples", "reviews")
POSITIVE = {"good", "great", "love", "excellent", "fast", "nice", "happy", "perfect", "best",
            "recommend"}
NEGATIVE = {"bad", "slow", "broken", "terrible", "hate", "awful", "worst", "refund", "poor",
            "never"}


def review_score(text):
    words = [w.decode().lower() for w in re.split(rb"[^A-Za-z0-9]", text.encode()) if w]
    balance = sum(1 if w in POSITIVE else -1 if w in NEGATIVE else 0 for w in words)
    return balance / len(words) if words else 0.0


with open(os.path.join(REVIEWS, "job.flow"), encoding="utf-8") as f:
    REVIEWS_JOB = f.read()
with open(os.path.join(REVIEWS, "data", "reviews.tsv"), encoding="utf-8") as f:
    REVIEW_LINES = f.read().splitlines()
SCORED = [(l.split("\t")[0], review_score(l.split("\t")[1])) for l in REVIEW_LINES if "\t" in l]
PER_PRODUCT = {}
for product, value in SCORED:
    PER_PRODUCT.setdefault(product, []).append(value)
case("extern_reviews", REVIEWS_JOB, {"data/reviews.tsv": "\n".join(REVIEW_LINES) + "\n"}, {
    "reviews_per_product": [[p, len(v)] for p, v in sorted(PER_PRODUCT.items())],
    "most_negative": [list(x) for x in bottom(SCORED, 3, lambda x: x[1])],
    "liked": sorted(p for p, v in PER_PRODUCT.items() if math.fsum(v) > 0.0),
}, copies={"tools/score.wasm": os.path.join(REVIEWS, "tools", "score.wasm")})


def assemble(wat_path, wasm_path):
    """Builds a tool's `.wasm` from its `.wat` with the workspace's `wat`
    crate (compiler/examples/wat2wasm.rs)."""
    subprocess.run(["cargo", "run", "--quiet", "-p", "flow-compiler", "--example", "wat2wasm",
                    "--", wat_path, wasm_path], check=True, cwd=REPO)
# Every example except `reviews` (its `extern fn` case is written with the
# extern work), with the example's own job and a copy of its data. The
# expected values are computed here from that data; `collatz` and
# `montecarlo` run with smaller params so the tiny-chunk runs stay quick.
EXAMPLES = os.path.join(HERE, "..", "..", "examples")


def example_job(name):
    with open(os.path.join(EXAMPLES, name, "job.flow"), encoding="utf-8") as f:
        return f.read()


def example_data(name):
    """The example's data files, by path relative to its job.flow."""
    out = {}
    root = os.path.join(EXAMPLES, name)
    for folder, _, names in os.walk(os.path.join(root, "data")):
        for file_name in names:
            path = os.path.join(folder, file_name)
            with open(path, encoding="utf-8", newline="") as f:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out


def text_lines(text):
    """Lines as `lines()` reads them: split at LF, one CR before it dropped,
    no empty last line after a final line end."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def data_lines(files):
    out = []
    for path in sorted(files):
        out.extend(text_lines(files[path]))
    return out


# collatz: the five longest sequences below `limit`, total and long ones.
LIMIT = 20_000
steps_of = [(n, collatz(n)) for n in range(1, LIMIT)]
case("example_collatz", example_job("collatz"), {}, {
    "longest": [list(p) for p in top(steps_of, 5, lambda p: p[1])],
    "total_steps": sum(s for _, s in steps_of),
    "over_200": sum(1 for _, s in steps_of if s > 200),
}, args=["--param", f"limit={LIMIT}"])

# logscan: whole files; `split(content, "\n")` keeps a CR, so lines here do too.
LOGS = example_data("logscan")
log_lines = {p: [l for l in t.split("\n") if l != ""] for p, t in LOGS.items()}
codes = set()
for lines_of in log_lines.values():
    for line in lines_of:
        if re.search(r"code=E[0-9]+", line):
            codes.add(line.split("code=")[1])
case("example_logscan", example_job("logscan"), LOGS, {
    "errors_per_file": sorted([p, n] for p, n in
                              ((p, sum(1 for l in ls if "ERROR" in l)) for p, ls in log_lines.items())
                              if n > 0),
    "total_lines": sum(len(ls) for ls in log_lines.values()),
    "error_codes": sorted(codes),
})

# montecarlo: the same darts as `rand` throws.
SAMPLES = 100_000
hits = sum(1 for i in range(SAMPLES) if flow_rand(2 * i) ** 2 + flow_rand(2 * i + 1) ** 2 <= 1.0)
pi_estimate = 4.0 * float(hits) / float(SAMPLES)
case("example_montecarlo", example_job("montecarlo"), {}, {
    "pi": pi_estimate,
    "error": abs(4.0 * float(hits) / float(SAMPLES) - 3.141592653589793),
}, args=["--param", f"samples={SAMPLES}"])

# outliers: three phases, exact means.
MEASUREMENTS = example_data("outliers")
values = [float(l.strip()) for l in data_lines(MEASUREMENTS) if l.strip() != ""]
mu = exact_mean(values)
sigma = math.sqrt(exact_mean([(x - mu) * (x - mu) for x in values]))
far = sorted(x for x in values if abs(x - mu) > 3.0 * sigma)
case("example_outliers", example_job("outliers"), MEASUREMENTS, {
    "mean_value": mu,
    "stddev": sigma,
    "outliers": far,
    "n_outliers": len(far),
})

# weather: CSV records (the extra `notes` column is ignored).
WEATHER = example_data("weather")
readings = []
for path in sorted(WEATHER):
    rows_of = text_lines(WEATHER[path])
    header = rows_of[0].split(",")
    for row in rows_of[1:]:
        cells = dict(zip(header, row.split(",")))
        readings.append({"station": cells["station"], "date": cells["date"],
                         "temp_c": float(cells["temp_c"]), "rain_mm": float(cells["rain_mm"])})
stations = sorted({r["station"] for r in readings})
hot = [r for r in readings if r["temp_c"] >= 25.0]


def reading_order(r):
    return (r["station"], r["date"], r["temp_c"], r["rain_mm"])


case("example_weather", example_job("weather"), WEATHER, {
    "rain_by_station": [[s, math.fsum(r["rain_mm"] for r in readings if r["station"] == s)]
                        for s in stations],
    "hot_days": [[s, sum(1 for r in hot if r["station"] == s)]
                 for s in stations if any(r["station"] == s for r in hot)],
    "mean_temp": exact_mean([r["temp_c"] for r in readings]),
    "hottest": sorted(readings, key=lambda r: (-r["temp_c"], reading_order(r)))[:3],
    "coldest": min(r["temp_c"] for r in readings),
})

# weblog: JSON lines (the extra `ts` field is ignored).
WEBLOG = example_data("weblog")
requests = [json.loads(l) for l in data_lines(WEBLOG) if l.strip() != ""]
routes = sorted({r["route"] for r in requests})
per_route = [(rt, sum(1 for r in requests if r["route"] == rt)) for rt in routes]
error_routes = [(rt, sum(1 for r in requests if r["route"] == rt and r["status"] >= 500))
                for rt in routes]
case("example_weblog", example_job("weblog"), WEBLOG, {
    "per_route": [list(p) for p in sorted(per_route, key=lambda p: (-p[1], p))],
    "errors": [list(p) for p in error_routes if p[1] > 0],
    "mean_ms": exact_mean([r["ms"] for r in requests]),
    "slowest": [[rt, max(r["ms"] for r in requests if r["route"] == rt)] for rt in routes],
    "slow_users": sorted({r["user"] for r in requests if r["ms"] > 250}),
})

# wordcount: lower-cased words, the 20 most frequent.
CORPUS = example_data("wordcount")
corpus_words = [w for l in data_lines(CORPUS) for w in words(l.lower())]
word_counts = {}
for w in corpus_words:
    word_counts[w] = word_counts.get(w, 0) + 1
case("example_wordcount", example_job("wordcount"), CORPUS, {
    "total_words": len(corpus_words),
    "top_words": [list(p) for p in top(sorted(word_counts.items()), 20, lambda p: p[1])],
})


def write(path, text):
    """Writes `text` (a `str` as UTF-8, or `bytes` as they are)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(text, bytes):
        with open(path, "wb") as f:
            f.write(text)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    for name, c in CASES.items():
        folder = os.path.join(HERE, name)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        write(os.path.join(folder, "job.flow"), c["job"])
        for rel, text in c["files"].items():
            write(os.path.join(folder, rel), text)
        if c["args"]:
            write(os.path.join(folder, "args"), "\n".join(c["args"]) + "\n")
        if c["error"] is not None:
            write(os.path.join(folder, "expected.txt"), "\n".join(c["error"]) + "\n")
        else:
            write(os.path.join(folder, "expected.json"),
                  json.dumps(c["expected"], ensure_ascii=False, indent=1) + "\n")
        for rel, text in c["tools"].items():
            wat_path = os.path.join(folder, rel[:-len(".wasm")] + ".wat")
            write(wat_path, text)
            assemble(wat_path, os.path.join(folder, rel))
        for rel, source in c["copies"].items():
            os.makedirs(os.path.dirname(os.path.join(folder, rel)), exist_ok=True)
            shutil.copyfile(source, os.path.join(folder, rel))
        for rel, value in c["out_files"].items():
            write(os.path.join(folder, "expected_files", rel + ".json"),
                  json.dumps(value, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(CASES)} cases written")


if __name__ == "__main__":
    main()

// Checks the TextMate grammar (syntaxes/flow.tmLanguage.json) with no
// dependency beyond Node.js: a small tokenizer that follows the TextMate
// rules VS Code applies (match, begin/end, captures, includes, the end
// pattern winning ties) colours real Flow files, and the test asserts that
//
// - every character that is not white space gets a scope of its own in every
//   example job and valid UI test program, and none is marked invalid;
// - every keyword of the parser's grammar (lang/src/flow.pest), every
//   standard function (stdlib/decls/*.flow), every policy key and `delegate
//   when` variable (compiler/src/policy.rs) gets the scope a theme colours;
// - a table of constructs (declarations, lambdas, records, sizes, durations,
//   tuple indexes, pipes...) gets the expected scopes.
//
// The grammar is written in the part of the Oniguruma syntax that JavaScript
// regular expressions share, so compiling it here also checks that VS Code
// can compile it. Run: `node editors/vscode/test/grammar.test.js` (the Rust
// test `tests/editor_grammar.rs` runs it under `cargo test`).
"use strict";

const fs = require("fs");
const path = require("path");

const extensionDir = path.join(__dirname, "..");
const repoDir = path.join(extensionDir, "..", "..");
const grammar = JSON.parse(
  fs.readFileSync(path.join(extensionDir, "syntaxes", "flow.tmLanguage.json"), "utf8")
);

// ----- the tokenizer ---------------------------------------------------------

const compiled = new Map();

function regex(source) {
  let re = compiled.get(source);
  if (!re) {
    // `d` gives the capture offsets, `m` makes `$` match before the newline
    // that ends every line, as in Oniguruma.
    re = new RegExp(source, "dgm");
    compiled.set(source, re);
  }
  return re;
}

function resolve(rule) {
  if (rule.include === undefined) return rule;
  if (rule.include === "$self" || rule.include === "$base") return grammar;
  const name = rule.include.replace(/^#/, "");
  const target = grammar.repository[name];
  if (!target) throw new Error(`the grammar includes the unknown rule ${rule.include}`);
  return target;
}

/** The match and begin rules a rule's `patterns` expand to, in order. */
function candidates(rule, seen = new Set()) {
  const out = [];
  for (const child of rule.patterns || []) {
    const target = resolve(child);
    if (target.match !== undefined || target.begin !== undefined) {
      out.push(target);
    } else if (!seen.has(target)) {
      seen.add(target);
      out.push(...candidates(target, seen));
      seen.delete(target);
    }
  }
  return out;
}

function firstMatch(source, text, from) {
  const re = regex(source);
  re.lastIndex = from;
  return re.exec(text);
}

/** Scopes of a match: the rule's name over all of it, captures on their groups. */
function paint(scopes, match, base, name, captures) {
  const start = match.index;
  const end = start + match[0].length;
  for (let i = start; i < end; i++) {
    scopes[i] = base.concat(name ? [name] : []);
  }
  if (!captures) return;
  for (const [group, capture] of Object.entries(captures)) {
    const span = match.indices[Number(group)];
    if (!span || !capture.name) continue;
    for (let i = span[0]; i < span[1]; i++) scopes[i] = scopes[i].concat([capture.name]);
  }
}

/**
 * Tokenizes a whole text: for every character of every line, the list of
 * scopes that apply (outermost first).
 */
function tokenize(text) {
  const stack = [{ rule: grammar, scopes: [grammar.scopeName] }];
  const lines = text.split(/\r?\n/);
  return lines.map((lineText) => {
    const line = lineText + "\n";
    const scopes = new Array(line.length);
    let pos = 0;
    let guard = 0;
    while (pos < line.length) {
      if (++guard > 10 * line.length + 100) throw new Error(`no progress in line: ${lineText}`);
      const top = stack[stack.length - 1];
      let best = null;
      if (top.rule.end !== undefined) {
        const m = firstMatch(top.rule.end, line, pos);
        if (m) best = { kind: "end", m };
      }
      for (const rule of candidates(top.rule)) {
        const m = firstMatch(rule.match !== undefined ? rule.match : rule.begin, line, pos);
        if (m && (!best || m.index < best.m.index)) best = { kind: "rule", rule, m };
      }
      const end = best ? best.m.index : line.length;
      for (let i = pos; i < end; i++) scopes[i] = top.scopes;
      if (!best) break;
      const { m } = best;
      if (best.kind === "end") {
        paint(scopes, m, top.scopes, null, top.rule.endCaptures || top.rule.captures);
        stack.pop();
      } else if (best.rule.match !== undefined) {
        paint(scopes, m, top.scopes, best.rule.name, best.rule.captures);
      } else {
        const inner = top.scopes.concat(best.rule.name ? [best.rule.name] : []);
        paint(scopes, m, inner, null, best.rule.beginCaptures || best.rule.captures);
        stack.push({ rule: best.rule, scopes: inner });
      }
      // An empty match that does not change the stack would repeat forever.
      pos = m[0].length > 0 || best.kind !== "rule" || best.rule.begin !== undefined ? m.index + m[0].length : m.index + 1;
      if (m[0].length === 0 && best.kind === "end") pos = Math.max(pos, m.index);
    }
    return { text: lineText, scopes };
  });
}

/** The scopes of the first occurrence of `needle` (after `after`) in `text`. */
function scopesOf(text, needle, after = "") {
  const lines = tokenize(text);
  let seenAfter = after === "";
  for (const { text: lineText, scopes } of lines) {
    let from = 0;
    if (!seenAfter) {
      const at = lineText.indexOf(after);
      if (at < 0) continue;
      seenAfter = true;
      from = at + after.length;
    }
    const at = lineText.indexOf(needle, from);
    if (at < 0) continue;
    const all = new Set();
    for (let i = at; i < at + needle.length; i++) for (const s of scopes[i]) all.add(s);
    // Scopes common to every character of the needle.
    return [...all].filter((s) => {
      for (let i = at; i < at + needle.length; i++) if (!scopes[i].includes(s)) return false;
      return true;
    });
  }
  throw new Error(`\`${needle}\` not found in: ${text}`);
}

// ----- the checks ------------------------------------------------------------

const failures = [];

function expectScope(text, needle, scope, after = "") {
  let scopes;
  try {
    scopes = scopesOf(text, needle, after);
  } catch (error) {
    failures.push(error.message);
    return;
  }
  if (!scopes.includes(scope)) {
    failures.push(`\`${needle}\` in \`${text.trim()}\`: expected ${scope}, got ${scopes.join(" ")}`);
  }
}

function flowFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...flowFiles(full));
    else if (entry.name.endsWith(".flow")) out.push(full);
  }
  return out.sort();
}

// Every regular expression compiles.
for (const [name, rule] of Object.entries(grammar.repository)) {
  for (const r of [rule, ...candidates(rule)]) {
    for (const key of ["match", "begin", "end"]) {
      if (r[key] === undefined) continue;
      try {
        regex(r[key]);
      } catch (error) {
        failures.push(`rule ${name}: ${key} does not compile: ${error.message}`);
      }
    }
  }
}

// Every example job and every valid UI test program (`tests/ui/ok_*.flow`,
// among them one with every construct of the language): every visible
// character coloured, nothing invalid.
const examples = [
  ...flowFiles(path.join(repoDir, "examples")),
  ...flowFiles(path.join(repoDir, "tests", "ui")).filter((f) => path.basename(f).startsWith("ok_")),
];
if (examples.length === 0) failures.push("no example .flow files found");
for (const file of examples) {
  const text = fs.readFileSync(file, "utf8");
  tokenize(text).forEach(({ text: lineText, scopes }, index) => {
    for (let i = 0; i < lineText.length; i++) {
      if (/\s/.test(lineText[i])) continue;
      const where = `${path.relative(repoDir, file)}:${index + 1}:${i + 1}`;
      if (scopes[i].length < 2) failures.push(`${where}: \`${lineText[i]}\` has no scope`);
      const invalid = scopes[i].find((s) => s.startsWith("invalid."));
      if (invalid) failures.push(`${where}: \`${lineText.slice(i)}\` is marked ${invalid}`);
    }
  });
}

// Files with errors (the UI tests) still tokenize line by line without
// looping, whatever they hold.
for (const file of flowFiles(path.join(repoDir, "tests"))) {
  tokenize(fs.readFileSync(file, "utf8"));
}

// Every keyword of the parser.
const pest = fs.readFileSync(path.join(repoDir, "lang", "src", "flow.pest"), "utf8");
const keywords = [...pest.matchAll(/^kw_(\w+)\s*=/gm)].map((m) => m[1]);
if (keywords.length < 15) failures.push(`only ${keywords.length} keywords found in flow.pest`);
for (const keyword of keywords) {
  const scopes = scopesOf(`${keyword} `, keyword);
  if (!scopes.some((s) => /^(keyword|storage|constant\.language)\./.test(s))) {
    failures.push(`keyword \`${keyword}\` gets ${scopes.join(" ")}`);
  }
}
for (const operator of ["and", "or", "not"]) {
  expectScope(`let x = a ${operator} b`, operator, "keyword.operator.logical.flow");
}

// Every standard function, called and piped into.
const decls = fs
  .readdirSync(path.join(repoDir, "stdlib", "decls"))
  .filter((f) => f.endsWith(".flow"))
  .map((f) => fs.readFileSync(path.join(repoDir, "stdlib", "decls", f), "utf8"))
  .join("\n");
const functions = [...new Set([...decls.matchAll(/^\s*fn\s+([a-z_]\w*)/gm)].map((m) => m[1]))];
if (functions.length < 30) failures.push(`only ${functions.length} standard functions found`);
for (const name of functions) {
  const called = scopesOf(`let x = ${name}(y)`, name, "=");
  if (!called.some((s) => s.startsWith("support.function"))) {
    failures.push(`standard function \`${name}(…)\` gets ${called.join(" ")}`);
  }
  expectScope(`let x = y |> ${name}`, name, "support.function.flow");
}

// Every policy key and `delegate when` variable.
const policySource = fs.readFileSync(path.join(repoDir, "compiler", "src", "policy.rs"), "utf8");
const allKeys = policySource.match(/const ALL_KEYS[^=]*=\s*&\[([^\]]*)\]/);
const policyVariables = policySource.match(/POLICY_VARIABLES[^=]*=\s*&\[([\s\S]*?)\n\];/);
if (!allKeys || !policyVariables) failures.push("policy keys or variables not found in policy.rs");
for (const [, key] of allKeys ? allKeys[1].matchAll(/"(\w+)"/g) : []) {
  expectScope(`policy {\n  ${key} = 1\n}`, key, "support.type.property-name.policy.flow");
}
for (const [, variable] of policyVariables ? policyVariables[1].matchAll(/\(\s*"(\w+)"/g) : []) {
  expectScope(`policy {\n  delegate when ${variable} > 1\n}`, variable, "variable.language.policy.flow", "when");
}

// Constructs.
const constructs = [
  ["//! A job.", "A job", "comment.line.documentation.inner.flow"],
  ["/// Doc of tokens.\nfn tokens(l: str) -> [str] = l |> words", "Doc of", "comment.line.documentation.flow"],
  ["let x = 1 // the answer", "the answer", "comment.line.double-slash.flow"],
  ['import "lib/text.flow"', "import", "keyword.control.import.flow"],
  ['import "lib/text.flow"', "lib/text.flow", "string.quoted.double.flow"],
  ['let s = "a\\n\\u{1F600}"', "\\u{1F600}", "constant.character.escape.flow"],
  ['let s = "a\\q"', "\\q", "invalid.illegal.escape.flow"],
  ["type Row = { city: str, temp: float }", "Row", "entity.name.type.flow"],
  ["type Row = { city: str, temp: float }", "city", "variable.other.property.flow"],
  ["type Row = { city: str, temp: float }", "float", "support.type.primitive.flow"],
  ["param threshold: float = 0.5", "threshold", "variable.other.definition.flow"],
  ["param threshold: float = 0.5", "0.5", "constant.numeric.float.flow"],
  ['input rows: Row = csv("data/*.csv")', "csv", "support.function.input.flow"],
  ['input rows: Row = csv("data/*.csv")', "Row", "entity.name.type.flow"],
  ["fn hot(r: Row) -> bool = r.temp > threshold", "hot", "entity.name.function.flow"],
  ["fn hot(r: Row) -> bool = r.temp > threshold", "r", "variable.parameter.flow", "hot("],
  ["fn hot(r: Row) -> bool = r.temp > threshold", "->", "keyword.operator.arrow.flow"],
  ["fn hot(r: Row) -> bool = r.temp > threshold", "temp", "variable.other.property.flow"],
  ["fn hot(r: Row) -> bool = r.temp > threshold", ">", "keyword.operator.comparison.flow", "temp"],
  ["fn id<T: Num>(x: T) -> T = x", "Num", "support.type.bound.flow"],
  ["fn apply(f: fn(int) -> int, x: int) -> int = f(x)", "fn", "storage.type.function.flow", "f:"],
  ['extern fn score(s: str) -> float from "tools/score.wasm"', "extern", "storage.modifier.extern.flow"],
  ['extern fn score(s: str) -> float from "tools/score.wasm"', "score", "entity.name.function.flow"],
  ['extern fn score(s: str) -> float from "tools/score.wasm"', "from", "keyword.other.flow"],
  ["let hot_rows = rows |> filter(hot)", "|>", "keyword.operator.pipe.flow"],
  ["let hot_rows = rows |> filter(hot)", "filter", "support.function.flow"],
  ["let n = xs |> tokens", "tokens", "entity.name.function.call.flow"],
  ["let n = tokens(l)", "tokens", "entity.name.function.call.flow"],
  ['output hot_list = hot_rows |> collect() to "out/hot.csv"', "hot_list", "variable.other.definition.flow"],
  ['output hot_list = hot_rows |> collect() to "out/hot.csv"', "to", "keyword.other.flow", "collect()"],
  ["let c = xs |> count_by(w => w)", "w", "variable.parameter.flow", "count_by("],
  ["let c = xs |> reduce((a, b) => a + b)", "b", "variable.parameter.flow", "(a, "],
  ["let c = xs |> reduce((a, b) => a + b)", "=>", "storage.type.function.arrow.flow"],
  ["let c = xs |> top(10, by: p => p.1)", "by", "variable.parameter.flow"],
  ["let c = xs |> top(10, by: p => p.1)", "1", "constant.numeric.integer.index.flow", "p."],
  ['let r = Row { city: "Oslo", temp: 1.5 }', "city", "variable.other.property.flow"],
  ['let r = Row { city: "Oslo", temp: 1.5 }', "Row", "entity.name.type.flow"],
  ["let v = if a then 1 else 2", "then", "keyword.control.conditional.flow"],
  ["let v = { let y = 2; y * 3 }", "y", "variable.other.definition.flow"],
  ["let v = { let y = 2; y * 3 }", ";", "punctuation.terminator.flow"],
  ["let v = { let y = 2; y * 3 }", "*", "keyword.operator.arithmetic.flow"],
  ["let b = not true", "true", "constant.language.boolean.flow"],
  ["let n = 0xff + 1_000_000", "0xff", "constant.numeric.integer.hexadecimal.flow"],
  ["let n = 0xff + 1_000_000", "1_000_000", "constant.numeric.integer.flow"],
  ["let f = 1e-9 + 2.5e3", "1e-9", "constant.numeric.float.flow"],
  ["let n = 12abc", "12abc", "invalid.illegal.numeric.flow"],
  ["let n = float(i) + 1.0", "float", "support.function.conversion.flow"],
  ["let s: stream<int> = x", "stream", "support.type.stream.flow"],
  ["let t = (1, 2).0", "0", "constant.numeric.integer.index.flow", ")."],
  ["let n = a @ b", "@", "invalid.illegal.character.flow"],
  ["policy {\n  split = 4 MiB\n}", "MiB", "keyword.other.unit.size.flow"],
  ["policy {\n  split = 512KB\n}", "KB", "keyword.other.unit.size.flow"],
  ["policy {\n  timeout = 250ms\n}", "ms", "keyword.other.unit.duration.flow"],
  ["policy {\n  select = latency\n}", "latency", "constant.language.select.flow"],
  ["policy {\n  delegate when work > 32 MiB and peers > 0\n}", "delegate", "keyword.control.delegate.flow"],
  ["policy {\n  delegate when work > 32 MiB and peers > 0\n}", "and", "keyword.operator.logical.flow"],
  ["policy {\n  depth = 3\n  delegate when depth < 2\n}", "depth", "variable.language.policy.flow", "when"],
  ["policy {\n  retries = 2\n}\nlet x = 30s", "30s", "invalid.illegal.numeric.flow"],
];
for (const [text, needle, scope, after] of constructs) {
  expectScope(text, needle, scope, after);
}

if (failures.length > 0) {
  console.error(`${failures.length} grammar check(s) failed:`);
  for (const failure of failures) console.error(`  ${failure}`);
  process.exit(1);
}
console.log(
  `grammar ok: ${examples.length} examples, ${keywords.length} keywords, ` +
    `${functions.length} standard functions, ${constructs.length} constructs`
);

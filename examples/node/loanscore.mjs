// Score applicants with a loanscore model from Node.js: model.onnx holds the
// preprocessing and the network, manifest.json the input contract and the
// threshold. This file is the contract in JavaScript, written to give the same
// probabilities, decisions, errors, warnings and reason codes as the Python
// runtime (tests/examples/test_node.py holds the two to agreement).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const MAX_CHARS = 64; // longer values are rejected: no real field is that long
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none']);
const FLOAT32_MAX = 3.4028234663852886e38;
const DECIMAL = /^[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?$/;
const SPECIAL = /^[+-]?(inf|infinity|nan)$/i;

/**
 * Load a model directory; refuse a model.onnx whose SHA-256 is not the manifest's, and a manifest edited since
 * export (its threshold decides every applicant with the graph untouched) whose hash golden.json recorded.
 */
export async function loadModel(directory) {
  const text = readFileSync(join(directory, 'manifest.json'), 'utf8');
  const manifest = JSON.parse(text);
  const onnxPath = join(directory, manifest.model_file ?? 'model.onnx');
  const bytes = readFileSync(onnxPath);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== manifest.sha256) {
    throw new Error(`${onnxPath} does not match its manifest (SHA-256 ${sha256.slice(0, 12)}…, ` +
                    `expected ${String(manifest.sha256).slice(0, 12)}…): the model was changed or damaged.`);
  }
  const golden = JSON.parse(readFileSync(join(directory, 'golden.json'), 'utf8'));
  if (typeof golden.manifest_sha256 === 'string' && manifestSha256(text) !== golden.manifest_sha256) {
    throw new Error(`${join(directory, 'manifest.json')} has changed since the model was exported (golden.json ` +
                    `recorded SHA-256 ${golden.manifest_sha256.slice(0, 12)}…): restore it, or export the model again.`);
  }
  const session = await ort.InferenceSession.create(bytes);
  return { manifest, session, columns: columnsOf(manifest.schema), threshold: manifest.threshold.value };
}

/**
 * The SHA-256 of a manifest's canonical JSON, as the Python runtime computes it: keys sorted, no spaces, strings
 * as JSON escapes them (non-ASCII as it is), integers as written, other numbers as Python writes a float (the
 * shortest digits that read back the same; `.0` on a whole number; an exponent below 1e-4 and from 1e16, `1e-05`).
 * The text is tokenized here, not taken from JSON.parse, which reads `5.0` and `5` alike.
 */
const TOKEN = /"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null/y;

export function manifestSha256(text) {
  let at = 0;
  const space = () => { while (' \t\r\n'.includes(text[at]) && at < text.length) at += 1; };
  const value = () => {
    space();
    const c = text[at];
    if (c === '{' || c === '[') {
      at += 1;
      const items = [];
      space();
      while (text[at] !== (c === '{' ? '}' : ']')) {
        if (items.length) { space(); at += 1; } // the comma
        if (c === '{') {
          const key = value();
          space();
          at += 1; // the colon
          items.push([JSON.parse(key), key, value()]);
        } else {
          items.push(value());
        }
        space();
      }
      at += 1;
      if (c === '[') return `[${items.join(',')}]`;
      items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return `{${items.map(([, key, v]) => `${JSON.stringify(JSON.parse(key))}:${v}`).join(',')}}`;
    }
    TOKEN.lastIndex = at;
    const token = TOKEN.exec(text);
    if (!token) throw new Error(`manifest.json is not valid JSON near character ${at}`);
    at = TOKEN.lastIndex;
    if (token[0][0] === '"') return JSON.stringify(JSON.parse(token[0]));
    if (/^-?[0-9]/.test(token[0])) return pythonNumber(token[0]);
    return token[0];
  };
  const canonical = value();
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** A JSON number as Python's json.dumps writes what json.loads read: an int in full, a float as its repr. */
function pythonNumber(token) {
  if (/^-?[0-9]+$/.test(token)) return BigInt(token).toString();
  const x = Number(token);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  let out;
  if (e < -4 || e >= 16) {
    out = `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  } else if (e < 0) {
    out = `0.${'0'.repeat(-e - 1)}${digits}`;
  } else if (digits.length > e + 1) {
    out = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  } else {
    out = `${digits}${'0'.repeat(e + 1 - digits.length)}.0`;
  }
  return x < 0 ? `-${out}` : out;
}

/**
 * JSON Lines text as records, one per non-blank line. A line that is no JSON object becomes an empty record,
 * and `unreadable` maps its 0-based position to the error that row should report.
 */
export function readRecords(text) {
  const records = [];
  const unreadable = new Map();
  text.split('\n').filter((line) => line.trim() !== '').forEach((line, i) => {
    try {
      const record = JSON.parse(line);
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new Error('not a JSON object');
      records.push(record);
    } catch (err) {
      unreadable.set(i, `row ${i + 1} is not a JSON object of field: value pairs (${err.message}).`);
      records.push({});
    }
  });
  return { records, unreadable };
}

/** Every raw input column, in the graph's order, as the validator sees it. */
export function columnsOf(schema) {
  const columns = [];
  for (const f of schema.numeric ?? []) {
    columns.push({ name: f.name, kind: 'number', missing: f.missing ?? 'impute', min: f.min ?? null,
                   max: f.max ?? null, minExclusive: Boolean(f.min_exclusive) });
  }
  for (const f of schema.categorical ?? []) {
    columns.push({ name: f.name, kind: 'code', missing: f.missing ?? 'impute', codes: f.codes,
                   isString: f.codes.some((c) => typeof c === 'string') });
  }
  for (const h of schema.history ?? []) {
    for (const name of h.columns) {
      columns.push({ name, kind: 'number', missing: h.missing ?? 'impute', min: h.min ?? null, max: h.max ?? null,
                     minExclusive: false });
    }
  }
  return columns;
}

/**
 * Score records (objects of field -> number, numeric text or null). A record
 * that breaks the contract gets `errors` (one message per bad field, naming
 * its row) and no probability; the others are scored in one graph call.
 * With `{ reasons: N }` each scored record also gets `reasons`: up to N
 * `{ field, effect }`, the fields or history channels that raise its
 * P(default) the most above the typical applicant's (see reasonCodes), each
 * with its `statement` where the model words its reasons (see wordingOf).
 */
export async function scoreRecords(model, records, firstRow = 1, { reasons = 0 } = {}) {
  const { columns, checked, scored } = checkRecords(model, records, firstRow);
  const probability = await run(model, columns, records.length);
  const why = reasons > 0 ? await reasonCodes(model, columns, probability, scored, reasons) : null;
  return checked.map((c, i) => {
    if (c.errors.length) {
      return { probability: null, decision: '', errors: c.errors, warnings: c.warnings, ...(why && { reasons: [] }) };
    }
    const p = probability[i];
    return { probability: p, decision: decide(model, p), errors: [], warnings: c.warnings, ...(why && { reasons: why[i] }) };
  });
}

/** Each record checked, and the graph's inputs column by column (a rejected value holds a placeholder). */
function checkRecords(model, records, firstRow) {
  const n = records.length;
  const columns = model.columns.map((col) => (col.isString ? new Array(n) : new Float32Array(n)));
  const checked = records.map((record, i) => {
    const c = check(model.columns, record, firstRow + i);
    c.values.forEach((value, j) => { columns[j][i] = value; });
    return c;
  });
  return { columns, checked, scored: checked.map((c) => c.errors.length === 0) };
}

function decide(model, p) {
  return p >= model.threshold ? 'decline' : 'approve';
}

/** The graph's P(default) for `n` rows given column by column (Float32Array, or Array of strings). */
async function run(model, columns, n) {
  const feeds = {};
  model.columns.forEach((col, j) => {
    feeds[col.name] = new ort.Tensor(col.isString ? 'string' : 'float32', columns[j], [n, 1]);
  });
  const { probability } = await model.session.run(feeds, ['probability']);
  return probability.data;
}

// -- reason codes ------------------------------------------------------------------
// As the Python runtime finds them (loanscore/runtime/reasons.py): each static
// field, and each history channel whole, is set to the typical applicant's
// value and the row scored again; the fall in P(default) is that group's effect.

const MIN_EFFECT = 0.001; // smaller effects are noise, not a reason
const BLOCK_ROWS = 65536; // variant rows per graph call

/** The typical applicant: the median of each number's population bins, the commonest known code of each categorical. */
export function typicalValues(manifest, columns) {
  const fields = manifest.population?.fields;
  if (!fields) {
    throw new Error('the manifest records no reference population, so there is no typical applicant to compare ' +
                    'with. Export the model with --data <its training data> to record one.');
  }
  const typical = {};
  for (const col of columns) {
    const bins = fields[col.name];
    if (!bins) throw new Error(`the manifest's population has no bins for ${col.name}; export the model again.`);
    const counts = bins.counts.slice(0, -1); // the last bin holds missing values
    if (bins.kind === 'code') {
      const known = counts.slice(0, bins.codes.length);
      const best = known.reduce((b, c, i) => (c > known[b] ? i : b), 0);
      typical[col.name] = known[best] > 0 ? (col.isString ? String(bins.codes[best]) : Number(bins.codes[best]))
        : (col.isString ? '' : NaN);
      continue;
    }
    const total = counts.reduce((a, b) => a + b, 0);
    let middle = 0;
    for (let seen = counts[0]; seen < total / 2; seen += counts[++middle]);
    typical[col.name] = total > 0 && bins.edges.length ? bins.edges[Math.min(middle, bins.edges.length - 1)] : NaN;
  }
  return typical;
}

/** The groups a reason can name, in the Python runtime's order: [name, column indexes]. */
export function groupsOf(schema, columns) {
  const index = new Map(columns.map((col, j) => [col.name, j]));
  return [...(schema.numeric ?? []), ...(schema.categorical ?? [])].map((f) => [f.name, [index.get(f.name)]])
    .concat((schema.history ?? []).map((h) => [h.name, h.columns.map((c) => index.get(c))]));
}

/** Up to `top` reasons per row ([] for a row not `scored`), largest effect first. */
async function reasonCodes(model, columns, probability, scored, top) {
  const effects = await effectsOf(model, columns, probability, scored, prepare(model).groups);
  return effects.map((row, i) => {
    if (!scored[i]) return [];
    return largestFirst(row).slice(0, top).filter((g) => row[g] >= MIN_EFFECT)
      .map((g) => ({ field: model.groups[g][0], effect: row[g], ...wordingOf(model, columns, g, i) }));
  });
}

/**
 * `{ statement }`: what group `g` says as a reason for row `i`, as loanscore/runtime/statements.py words it:
 * the schema's `reason`, its `higher` or `lower` text by whether the value is above or below the typical
 * applicant's (a history channel: the sign of the summed differences over the months, after signed_log, else
 * of the largest one); the group's name where no text fits. `{}` when the model words no reasons.
 */
function wordingOf(model, columns, g, i) {
  if (!model.statements.some(Boolean)) return {};
  const [name, cols] = model.groups[g];
  if (!model.statements[g]) return { statement: name };
  const [higher, lower, transform] = model.statements[g];
  const scale = transform === 'signed_log' ? (x) => Math.sign(x) * Math.log1p(Math.abs(x)) : (x) => x;
  let sum = 0;
  let largest = 0; // where the differences cancel out, the largest (the newest of equal ones) decides
  for (const j of transform === null ? [] : cols) { // a code is neither above nor below
    const d = scale(columns[j][i]) - scale(model.typical[j]);
    if (Number.isNaN(d)) continue; // a missing month is no difference
    sum += d;
    if (Math.abs(d) >= Math.abs(largest)) largest = d;
  }
  const way = Math.sign(sum) || Math.sign(largest);
  const text = way > 0 ? higher : way < 0 ? lower : higher === lower ? higher : '';
  return { statement: text || name };
}

/** The model's typical applicant (float32 as the graph reads it) and reason groups, worked out once. */
function prepare(model) {
  if (!model.groups) {
    const typical = typicalValues(model.manifest, model.columns);
    model.typical = model.columns.map((col) => (col.isString ? typical[col.name] : Math.fround(typical[col.name])));
    model.groups = groupsOf(model.manifest.schema, model.columns);
    const schema = model.manifest.schema;
    const codes = new Set(schema.categorical ?? []);
    model.entries = [...(schema.numeric ?? []), ...(schema.categorical ?? []), ...(schema.history ?? [])]
      .map((e) => ({ transform: codes.has(e) ? null : e.transform ?? 'none', reason: e.reason }));
    model.statements = model.entries.map((e, g) => statementOf(e.reason, e.transform, model.groups[g][0]));
  }
  return model;
}

/**
 * Reword the reasons: `table` maps fields and history channels to a statement, or (numbers and channels) to
 * `{ higher, lower }`, as a loanscore statements file does (`loanscore statements`; JSON here). It replaces
 * the manifest's wording: a name it leaves out is named by its field. Throws on a name or form it cannot take.
 */
export function useStatements(model, table) {
  prepare(model);
  const names = model.groups.map(([name]) => name);
  const unknown = Object.keys(table).filter((name) => !names.includes(name));
  if (unknown.length) {
    throw new Error(`the statements word ${unknown.map((name) => `'${name}'`).join(', ')}, which the model does not ` +
                    `have; its fields and history channels are ${names.join(', ')}.`);
  }
  model.statements = names.map((name, g) => statementOf(table[name], model.entries[g].transform, name));
}

/** A `reason` as [higher, lower, transform] (transform null for a code), or null for none; throws if malformed. */
function statementOf(reason, transform, name) {
  if (reason === undefined || reason === null) return null;
  const text = (value) => typeof value === 'string' && value.trim() !== '';
  if (text(reason)) return [reason.trim(), reason.trim(), transform];
  const keys = reason && typeof reason === 'object' && !Array.isArray(reason) ? Object.keys(reason) : null;
  if (transform !== null && keys?.length && keys.every((k) => ['higher', 'lower'].includes(k) && text(reason[k]))) {
    return [reason.higher?.trim() ?? '', reason.lower?.trim() ?? '', transform];
  }
  throw new Error(`${name} must be ${transform === null ? 'a statement (a code has no above or below)'
    : 'a statement, or a table of \'higher\' and \'lower\' statements'}; got ${JSON.stringify(reason)}.`);
}

/** Group indexes by effect, largest first; ties keep the groups' order (the sort is stable), as in Python. */
function largestFirst(row) {
  return [...row.keys()].sort((a, b) => row[b] - row[a]);
}

/**
 * Each scored row's P(default) minus its P(default) with one group of columns made typical, for every group
 * ([name, column indexes]); 0 where the group already is typical. One graph call per BLOCK_ROWS variants.
 */
async function effectsOf(model, columns, probability, scored, groups) {
  const typical = model.typical;
  const same = (j, i) => columns[j][i] === typical[j] || (Number.isNaN(columns[j][i]) && Number.isNaN(typical[j]));
  const effects = Array.from(probability, () => new Float64Array(groups.length));
  const variants = []; // [row, group] pairs whose group is not already typical
  scored.forEach((ok, i) => {
    if (!ok) return;
    groups.forEach(([, cols], g) => { if (!cols.every((j) => same(j, i))) variants.push([i, g]); });
  });
  for (let start = 0; start < variants.length; start += BLOCK_ROWS) {
    const block = variants.slice(start, start + BLOCK_ROWS);
    const varied = columns.map((values, j) => {
      const out = model.columns[j].isString ? new Array(block.length) : new Float32Array(block.length);
      block.forEach(([i], k) => { out[k] = values[i]; });
      return out;
    });
    block.forEach(([, g], k) => { for (const j of groups[g][1]) varied[j][k] = typical[j]; });
    const madeTypical = await run(model, varied, block.length);
    block.forEach(([i, g], k) => { effects[i][g] = probability[i] - madeTypical[k]; });
  }
  return effects;
}

// -- case explanations -----------------------------------------------------------------
// As `loanscore explain` gives them (loanscore/runtime/explain.py).

/**
 * Take each record's score apart for a case review: every field and history channel made typical in turn
 * (its effect, and P(default) and the decision then), and each month of a channel alone, largest effect
 * first. A record that breaks the contract gets `errors` and no explanation.
 */
export async function explainRecords(model, records, firstRow = 1) {
  prepare(model);
  const { columns, checked, scored } = checkRecords(model, records, firstRow);
  const probability = await run(model, columns, records.length);
  const history = new Set((model.manifest.schema.history ?? []).map((h) => h.name));
  const months = model.groups.filter(([name]) => history.has(name)).flatMap(([, cols]) => cols.map((j) => [null, [j]]));
  const effects = await effectsOf(model, columns, probability, scored, [...model.groups, ...months]);
  model.typicalProbability ??= (await run(model, model.typical.map((t, j) => (model.columns[j].isString ? [t] : Float32Array.of(t))), 1))[0];
  const value = (x) => (typeof x === 'string' ? x : Number.isNaN(x) ? null : x);
  return checked.map((c, i) => {
    if (c.errors.length) return { probability: null, decision: '', errors: c.errors, warnings: c.warnings };
    const row = effects[i];
    let month = model.groups.length;
    const parts = model.groups.map(([field, cols], g) => ({
      field,
      columns: cols.map((j) => model.columns[j].name),
      values: cols.map((j) => value(columns[j][i])),
      typical: cols.map((j) => value(model.typical[j])),
      effect: row[g],
      probabilityIfTypical: probability[i] - row[g],
      decisionIfTypical: decide(model, probability[i] - row[g]),
      ...(history.has(field) && { months: cols.map((j) => ({ column: model.columns[j].name, effect: row[month++] })) }),
      ...wordingOf(model, columns, g, i),
    }));
    return { probability: probability[i], decision: decide(model, probability[i]), typicalProbability: model.typicalProbability,
             effects: largestFirst(row.subarray(0, model.groups.length)).map((g) => parts[g]), errors: [], warnings: c.warnings };
  });
}

/** One record against the columns: the graph's value per column, error messages and warnings. */
export function check(columns, record, row) {
  const values = [];
  const errors = [];
  const warnings = [];
  for (const col of columns) {
    const raw = record[col.name];
    if (col.isString) {
      let text = raw === null || raw === undefined ? '' : String(raw).trim();
      if ([...text].length > MAX_CHARS) {
        errors.push(message(col.name, raw, `is too long (${[...text].length} characters; at most ${MAX_CHARS})`, row));
        text = '';
      } else if (MISSING.has(text.toLowerCase())) {
        if (col.missing === 'reject') errors.push(message(col.name, raw, 'is required and cannot be missing', row));
        text = '';
      } else if (!col.codes.includes(text)) {
        warnings.push(`${col.name} code '${text}' was not seen in training; scored as an unknown code`);
      }
      values.push(text);
      continue;
    }
    let [x, reason] = parse(raw);
    if (reason === null && !Number.isNaN(x)) reason = problem(col, x);
    else if (reason === null && col.missing === 'reject') reason = 'is required and cannot be missing';
    if (reason !== null) {
      errors.push(message(col.name, raw, reason, row));
      x = NaN;
    } else if (col.kind === 'code' && !Number.isNaN(x) && !col.codes.includes(x)) {
      warnings.push(`${col.name} code ${number(x)} was not seen in training; scored as an unknown code`);
    }
    values.push(x);
  }
  return { values, errors, warnings };
}

/** A raw value as a number (NaN when missing) and why it is no number, or null. */
function parse(v) {
  if (v === null || v === undefined) return [NaN, null];
  if (typeof v === 'boolean') return [NaN, 'must be a number, not true/false'];
  if (typeof v === 'number') return [v, null];
  if (typeof v !== 'string') return [NaN, `must be a number, not a ${Array.isArray(v) ? 'list' : 'dict'}`];
  if ([...v].length > MAX_CHARS) return [NaN, `is too long (${[...v].length} characters; at most ${MAX_CHARS})`];
  const s = v.trim().replace(/^\0+|\0+$/g, '').trim();
  if (MISSING.has(s.toLowerCase())) return [NaN, null];
  if (SPECIAL.test(s)) return [s.toLowerCase().endsWith('nan') ? NaN : (s.startsWith('-') ? -Infinity : Infinity), null];
  if (DECIMAL.test(s)) return [Number(s.replaceAll('_', '')), null];
  return [NaN, 'must be a number'];
}

function problem(col, x) {
  if (!Number.isFinite(x)) return 'must be a finite number';
  if (Math.abs(x) > FLOAT32_MAX) return 'is too large to be a number the model can read';
  if (col.kind === 'code') return Number.isInteger(x) ? null : `must be a whole-number code, ${domain(col)}`;
  if (col.min !== null && (col.minExclusive ? x <= col.min : x < col.min)) return `must be ${domain(col)}`;
  if (col.max !== null && x > col.max) return `must be ${domain(col)}`;
  return null;
}

/** The allowed values in words, as the Python runtime words them. */
export function domain(col) {
  if (col.kind === 'code') return 'one of ' + col.codes.join(', ');
  const low = col.min === null ? '' : number(col.min);
  const high = col.max === null ? '' : number(col.max);
  if (col.min !== null && col.max !== null) {
    return col.minExclusive ? `greater than ${low} and at most ${high}` : `between ${low} and ${high}`;
  }
  if (col.min !== null) return `${col.minExclusive ? 'greater than' : 'at least'} ${low}`;
  if (col.max !== null) return `at most ${high}`;
  return 'a finite number';
}

/** A number as Python prints it: whole numbers without a decimal point, in full. */
function number(x) {
  return Number.isInteger(x) ? BigInt(x).toString() : String(x);
}

function message(field, value, reason, row) {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text.length > 40) text = text.slice(0, 37) + '...';
  return `${field} ${reason}. Got '${text}'${row === null ? '' : ` in row ${row}`}.`;
}

/**
 * A master scale from its JSON (`loanscore grades --format json`): `{ grade: [{ name, upper }, ...] }`, safest
 * first, bounds increasing, the last 1. Checked as loanscore/runtime/grades.py checks it; throws on what it
 * cannot take.
 */
export function masterScale(table) {
  const grades = table && typeof table === 'object' ? table.grade : undefined;
  if (!Array.isArray(grades) || grades.length < 2) {
    throw new Error('expected at least two grades, each with a name and an upper bound on P(default).');
  }
  const names = [];
  const upper = [];
  grades.forEach((entry, k) => {
    const name = String(entry?.name ?? '').trim();
    const bound = entry?.upper;
    if (!name) throw new Error(`grade ${k + 1} needs a name, got ${JSON.stringify(entry?.name)}.`);
    if (names.includes(name)) throw new Error(`grade ${k + 1} is named '${name}' like grade ${names.indexOf(name) + 1}.`);
    if (typeof bound !== 'number' || !(bound > 0 && bound <= 1)) {
      throw new Error(`grade ${k + 1} (${name}): upper must be a probability above 0 and at most 1, got ${JSON.stringify(bound)}.`);
    }
    if (upper.length && bound <= upper[upper.length - 1]) {
      throw new Error(`grade ${k + 1} (${name}): upper ${bound} is not above grade ${k}'s ${upper[upper.length - 1]}.`);
    }
    names.push(name);
    upper.push(bound);
  });
  if (upper[upper.length - 1] !== 1) throw new Error(`the last grade (${names[names.length - 1]}) must reach P(default) 1.`);
  return { names, upper };
}

/** The grade of probability `p` on `scale`: the first whose upper bound it does not exceed ('' for null). */
export function gradeOf(scale, p) {
  if (p === null || Number.isNaN(p)) return '';
  return scale.names[scale.upper.findIndex((bound) => p <= bound)];
}

/**
 * A points scale from its JSON (`loanscore points --format json`): `{ points, odds, pdo, lowest, highest }`.
 * Checked as loanscore/runtime/points.py checks it; throws on what it cannot take.
 */
export function pointsScale(table) {
  if (!table || typeof table !== 'object' || Array.isArray(table)) {
    throw new Error('expected points, odds, pdo, lowest, highest.');
  }
  const scale = {};
  for (const key of ['points', 'odds', 'pdo', 'lowest', 'highest']) {
    const value = table[key];
    if (value === undefined) throw new Error(`${key} missing; a points scale needs points, odds, pdo, lowest, highest.`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${key} must be a number, got ${JSON.stringify(value)}.`);
    scale[key] = value;
  }
  if (!(scale.odds > 0)) throw new Error(`odds must be above 0, got ${scale.odds}.`);
  if (!(scale.pdo > 0)) throw new Error(`pdo (points to double the odds) must be above 0, got ${scale.pdo}.`);
  if (!(scale.lowest < scale.highest)) throw new Error(`lowest (${scale.lowest}) must be below highest (${scale.highest}).`);
  return scale;
}

/**
 * The score in points of probability `p` on `scale` (null for null): points + pdo / ln 2 * ln(good:bad odds / odds),
 * rounded to a whole point (halves up) and kept within lowest .. highest, as `loanscore score --points` scores.
 */
export function pointsOf(scale, p) {
  if (p === null || Number.isNaN(p)) return null;
  const exact = scale.points + (scale.pdo / Math.LN2) * (Math.log1p(-p) - Math.log(p) - Math.log(scale.odds));
  return Math.min(scale.highest, Math.max(scale.lowest, Math.floor(exact + 0.5)));
}

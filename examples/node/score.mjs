// node score.mjs [--reasons N] [MODEL_DIR] [FILE.jsonl] — score JSON Lines (one applicant object a line; stdin
// without FILE). Prints one JSON line per input line: row, probability, decision, errors, warnings, and with
// --reasons N up to N reason codes. A line that is no JSON object is an error of its row, and the other rows
// are still scored. Exit status 1 when a row was rejected, 2 for a bad --reasons.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, readRecords, scoreRecords } from './loanscore.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let reasons = 0;
const flag = args.indexOf('--reasons');
if (flag >= 0) {
  reasons = Number(args[flag + 1]);
  if (!Number.isInteger(reasons) || reasons < 0) {
    console.error(`--reasons takes a whole number of reasons, got '${args[flag + 1] ?? ''}'.`);
    process.exit(2);
  }
  args.splice(flag, 2);
}
const [modelDir = join(here, '..', '..', 'artifacts', 'model'), file = 0] = args;
const model = await loadModel(modelDir);
const { records, unreadable } = readRecords(readFileSync(file, 'utf8'));
const results = records.length ? await scoreRecords(model, records, 1, { reasons }) : [];
let rejected = 0;
results.forEach((result, i) => {
  if (unreadable.has(i)) {
    Object.assign(result, { probability: null, decision: '', errors: [unreadable.get(i)], ...(reasons && { reasons: [] }) });
  }
  rejected += result.errors.length > 0;
  process.stdout.write(JSON.stringify({ row: i + 1, ...result }) + '\n');
});
if (rejected) console.error(`${rejected} of ${results.length} rows rejected; their errors say why.`);
process.exitCode = rejected ? 1 : 0;

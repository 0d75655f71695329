// node explain.mjs [MODEL_DIR] [FILE.jsonl] — take each applicant's score apart (one JSON object a line; stdin
// without FILE), as `loanscore explain --format jsonl` does: one JSON line per input line with row, probability,
// decision, typicalProbability and every field's effect (history channels month by month), largest first.
// A line that is no JSON object is an error of its row. Exit status 1 when a row was rejected.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainRecords, loadModel, readRecords } from './loanscore.mjs';

const here = dirname(fileURLToPath(import.meta.url));
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; }); // `| head`
const [modelDir = join(here, '..', '..', 'artifacts', 'model'), file = 0] = process.argv.slice(2);
const model = await loadModel(modelDir);
const { records, unreadable } = readRecords(readFileSync(file, 'utf8'));
const results = records.length ? await explainRecords(model, records) : [];
let rejected = 0;
results.forEach((result, i) => {
  if (unreadable.has(i)) Object.assign(result, { probability: null, decision: '', errors: [unreadable.get(i)] });
  rejected += result.errors.length > 0;
  process.stdout.write(JSON.stringify({ row: i + 1, ...result }) + '\n');
});
if (rejected) console.error(`${rejected} of ${results.length} rows rejected; their errors say why.`);
process.exitCode = rejected ? 1 : 0;

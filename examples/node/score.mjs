// node score.mjs [--reasons N [--statements WORDS.json]] [--master-scale GRADES.json] [--points-scale POINTS.json]
//   [MODEL_DIR] [FILE.jsonl]
// — score JSON Lines (one applicant object a line; stdin without FILE). Prints one JSON line per input line: row,
// probability, decision, errors, warnings, and with --reasons N up to N reason codes, worded by the manifest's
// statements or by a statements file (as `loanscore statements` writes, in JSON); with --master-scale, each
// row's grade on that scale (as `loanscore grades --format json` writes it); with --points-scale, each row's score
// in points (as `loanscore points --format json` writes the scale). A line that is no JSON object is an error
// of its row, and the other rows are still scored. Exit status 1 when a row was rejected, 2 for a bad option.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, readRecords, scoreRecords } from './loanscore.mjs';
import { gradeOf, pointsOf } from './loanscore.mjs';
import { readMasterScale, readPointsScale, takeOption, useStatementsFile } from './options.mjs';

const here = dirname(fileURLToPath(import.meta.url));
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; }); // `| head`
const args = process.argv.slice(2);
const given = takeOption(args, '--reasons', 'a whole number of reasons');
const reasons = given === null ? 0 : Number(given);
if (!Number.isInteger(reasons) || reasons < 0) {
  console.error(`--reasons takes a whole number of reasons, got '${given}'.`);
  process.exit(2);
}
const statements = takeOption(args, '--statements', 'a statements file in JSON');
const scalePath = takeOption(args, '--master-scale', 'a master scale in JSON');
const scale = scalePath === null ? null : readMasterScale(scalePath);
const pointsPath = takeOption(args, '--points-scale', 'a points scale in JSON');
const points = pointsPath === null ? null : readPointsScale(pointsPath);
const [modelDir = join(here, '..', '..', 'artifacts', 'model'), file = 0] = args;
const model = await loadModel(modelDir);
if (statements !== null) useStatementsFile(model, statements);
const { records, unreadable } = readRecords(readFileSync(file, 'utf8'));
const results = records.length ? await scoreRecords(model, records, 1, { reasons }) : [];
let rejected = 0;
results.forEach((result, i) => {
  if (unreadable.has(i)) {
    Object.assign(result, { probability: null, decision: '', errors: [unreadable.get(i)], ...(reasons && { reasons: [] }) });
  }
  rejected += result.errors.length > 0;
  const graded = scale ? { grade: gradeOf(scale, result.probability) } : {};
  const scored = points ? { points: pointsOf(points, result.probability) } : {};
  process.stdout.write(JSON.stringify({ row: i + 1, ...result, ...scored, ...graded }) + '\n');
});
if (rejected) console.error(`${rejected} of ${results.length} rows rejected; their errors say why.`);
process.exitCode = rejected ? 1 : 0;

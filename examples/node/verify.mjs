// node verify.mjs [MODEL_DIR] — re-score the model's golden cases in Node.js and compare with the probabilities
// recorded at export (Keras + scikit-learn), within the manifest's tolerance. Exit status 3 when any differs.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, scoreRecords } from './loanscore.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? join(here, '..', '..', 'artifacts', 'model');
const model = await loadModel(modelDir);
const golden = JSON.parse(readFileSync(join(modelDir, 'golden.json'), 'utf8'));
const results = await scoreRecords(model, golden.cases.map((c) => c.record));
let worst = 0;
const failed = [];
golden.cases.forEach((c, i) => {
  const diff = results[i].probability === null ? Infinity : Math.abs(results[i].probability - c.probability);
  worst = Math.max(worst, diff);
  if (!(diff <= golden.tolerance)) failed.push(`${c.name}: ${results[i].probability ?? results[i].errors.join(' ')} ` +
                                               `against ${c.probability}`);
});
console.log(`${golden.cases.length} golden cases, max |diff| ${worst.toExponential(2)} ` +
            `(tolerance ${golden.tolerance}), onnxruntime-node on Node.js ${process.versions.node}`);
if (failed.length) {
  console.error(`${failed.length} cases differ:\n  ${failed.slice(0, 10).join('\n  ')}`);
  process.exitCode = 3;
} else {
  console.log('OK: the model scores in Node.js as it did at export.');
}

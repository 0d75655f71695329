// One applicant's explanation as a picture (SVG) for the case file, as `loanscore explain --plot` draws it
// (loanscore/runtime/explain_plot.py): each field's effect as a bar, the history as a heat map month by month,
// and the reasons as stated. Given the same explanation, both write the same bytes
// (tests/examples/test_node.py holds them to it), so numbers are formatted as Python formats them.

const ROW = 24; const LABEL = 250; const PAD = 50; const BARS = 300; // a field's row; label, value-text, bar widths
const CELL_W = 72; const CELL_H = 40; const CHANNEL = 130; // a month's cell; the channel label's width
const TOP = 70; const GAP = 70;
const BLUE = '#1f5fa8'; const GREY = '#888888'; const RED = '#c0392b';
const STATED = 4; // reasons stated, as adverse-action notices usually give no more
const MIN_EFFECT = 0.001;
const STATED_TITLE = 'Reasons as stated to the applicant';

/**
 * The SVG text for one result of `explainRecords` (one that was explained: no errors); `schema` is the
 * manifest's, for the codes' labels; `title` names the applicant.
 */
export function explanationSvg(result, schema, title) {
  const labels = Object.fromEntries((schema.categorical ?? []).map((f) => [f.name, f.labels ?? {}]));
  const effects = result.effects;
  const history = effects.filter((e) => e.months);
  const months = Math.max(0, ...history.map((e) => e.columns.length));
  const right = LABEL + 2 * PAD + BARS + GAP;
  const width = right + (history.length ? CHANNEL + months * CELL_W : 0) + 30;
  const body = TOP + Math.max(effects.length * ROW, history.length * CELL_H);
  const told = effects.filter((e) => e.statement && e.effect >= MIN_EFFECT).slice(0, STATED);
  const height = body + (told.length ? ROW * (told.length + 1) + 10 : 0) + 50;
  const out = [text(10, 22, `${title}: P(default) ${fixed(result.probability, 3)}, ${result.decision}; `
                            + `the typical applicant ${fixed(result.typicalProbability, 3)}`, { size: 14, weight: 'bold' })];
  out.push(...bars(effects, labels));
  if (history.length) out.push(...heatMap(history, right, months));
  if (told.length) {
    out.push(text(10, body + ROW + 15, `${STATED_TITLE}:`, { size: 13, weight: 'bold' }));
    told.forEach((e, k) => out.push(text(24, body + ROW * (k + 2) + 15,
                                         `${k + 1}. ${e.statement} (${e.field} ${signed(e.effect)})`)));
  }
  out.push(text(10, height - 12, 'effect: P(default) minus P(default) with the field (a cell: that month alone) '
                                 + 'set to the typical applicant\'s value; hover for the values', { colour: GREY }));
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" `
          + 'font-family="sans-serif" font-size="12">',
          `<rect width="${width}" height="${height}" fill="white"/>`, ...out, '</svg>'].join('\n') + '\n';
}

function bars(effects, labels) {
  const low = Math.min(0, ...effects.map((e) => e.effect));
  const high = Math.max(0, ...effects.map((e) => e.effect));
  const span = (high - low) || 1;
  const x = (v) => LABEL + PAD + (v - low) / span * BARS;
  const out = [text(10, TOP - 24, 'Each field made typical', { size: 13, weight: 'bold' }),
               line(x(0), TOP - 8, x(0), TOP + effects.length * ROW, GREY)];
  effects.forEach((e, k) => {
    const y = TOP + k * ROW;
    out.push(text(LABEL - 8, y + 15, e.months ? e.field : `${e.field}: ${shown(e.values[0], labels[e.field] ?? {})}`,
                  { anchor: 'end' }));
    if (same(e.values, e.typical)) {
      out.push(text(x(0) + 6, y + 15, 'typical', { colour: GREY }));
      return;
    }
    const tip = `${e.field}: ${values(e.values)} (typical ${values(e.typical)}); effect ${plus(e.effect, 4)}, `
                + `P(default) if typical ${fixed(e.probabilityIfTypical, 4)} (${e.decisionIfTypical})`;
    const [a, b] = [x(0), x(e.effect)].sort((p, q) => p - q);
    out.push(bar(a, y + 4, Math.max(b - a, 1), ROW - 8, e.effect > 0 ? RED : BLUE, tip));
    out.push(text(e.effect > 0 ? b + 4 : a - 4, y + 15, signed(e.effect),
                  { anchor: e.effect > 0 ? 'start' : 'end', size: 11 }));
  });
  return out;
}

function heatMap(history, x0, months) {
  const scale = Math.max(0, ...history.flatMap((e) => e.months.map((m) => Math.abs(m.effect)))) || 1;
  const out = [text(x0, TOP - 24, 'The history month by month (oldest to newest)', { size: 13, weight: 'bold' })];
  history.forEach((e, k) => {
    const y = TOP + k * CELL_H;
    out.push(text(x0 + CHANNEL - 8, y + CELL_H / 2 + 4, e.field, { anchor: 'end' }));
    e.months.forEach(({ column, effect }, m) => {
      const cx = x0 + CHANNEL + (months - e.columns.length + m) * CELL_W; // newest months line up on the right
      const [value, typical] = [e.values[m], e.typical[m]];
      const tip = `${column}: ${values([value])} (typical ${values([typical])}); effect ${plus(effect, 4)}`;
      out.push(bar(cx, y, CELL_W - 2, CELL_H - 2, tint(effect / scale), tip));
      const ink = Math.abs(effect) > 0.6 * scale ? 'white' : 'black';
      out.push(text(cx + CELL_W / 2, y + 15, values([value]), { size: 10, colour: ink, anchor: 'middle' }));
      out.push(text(cx + CELL_W / 2, y + 30, value === typical ? 'typical' : signed(effect),
                    { size: 11, colour: ink, anchor: 'middle' }));
    });
  });
  return out;
}

/** White at 0, shading to red (raises P(default)) or blue (lowers it) at +-1. */
function tint(fraction) {
  const target = fraction > 0 ? RED : BLUE;
  const f = Math.min(Math.abs(fraction), 1);
  return '#' + [1, 3, 5].map((i) => roundHalfEven(255 + (parseInt(target.slice(i, i + 2), 16) - 255) * f)
    .toString(16).padStart(2, '0')).join('');
}

// -- the shapes (loanscore/runtime/svg.py) ------------------------------------------------

function text(x, y, words, { size = 12, weight = 'normal', colour = 'black', anchor = 'start' } = {}) {
  return `<text x="${fixed(x, 1)}" y="${fixed(y, 1)}" font-size="${size}" font-weight="${weight}" fill="${colour}" `
         + `text-anchor="${anchor}">${escape(words)}</text>`;
}

function line(x1, y1, x2, y2, colour) {
  return `<line x1="${fixed(x1, 1)}" y1="${fixed(y1, 1)}" x2="${fixed(x2, 1)}" y2="${fixed(y2, 1)}" stroke="${colour}" `
         + 'stroke-width="1.5"/>';
}

function bar(x, y, width, height, colour, tip) {
  return `<rect x="${fixed(x, 1)}" y="${fixed(y, 1)}" width="${fixed(width, 1)}" height="${fixed(height, 1)}" `
         + `fill="${colour}"><title>${escape(tip)}</title></rect>`;
}

function escape(words) {
  return words.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

// -- numbers as Python writes them ---------------------------------------------------------

/** Python's f"{x:.{digits}f}": the exact binary value rounded, a tie to even (JS's toFixed rounds it up). */
function fixed(x, digits) {
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const a = Math.abs(x);
  let out = a.toFixed(digits);
  const exact = a.toFixed(100); // every digit of a double this size: a tie shows as 5 then zeros
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  if (/^50*$/.test(rest)) {
    const kept = exact.slice(0, digits ? point + 1 + digits : point);
    if (Number(kept.at(-1)) % 2 === 0) out = kept;
  }
  return sign + out;
}

function plus(x, digits) {
  const out = fixed(x, digits);
  return out.startsWith('-') ? out : '+' + out;
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `+0.123`; an effect that rounds to nothing shows as `0.000`, not `-0.000` (explain.py's `signed`). */
function signed(x) {
  return Math.abs(x) < 0.0005 ? '0.000' : plus(x, 3);
}

/** A value as a clerk reads it: thousands separated, a code with its label, `missing` for none. */
function shown(value, labels) {
  if (value === null) return 'missing';
  if (typeof value === 'string') return Object.hasOwn(labels, value) ? `${value} (${labels[value]})` : value;
  if (Number.isInteger(value)) {
    const words = grouped(BigInt(value).toString());
    return Object.hasOwn(labels, String(value)) ? `${words} (${labels[String(value)]})` : words;
  }
  return grouped(fixed(value, 2));
}

function grouped(number) {
  const [whole, part] = number.split('.');
  const out = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  return part === undefined ? out : `${out}.${part}`;
}

function values(list) {
  return list.map((v) => shown(v, {})).join(' ');
}

function same(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

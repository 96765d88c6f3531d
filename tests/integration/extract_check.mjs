// Independent checks of a research extract (tests/integration/extract_cli.sh).
//
//   node extract_check.mjs gen SEED N OUTDIR        writes N random agreements
//   node extract_check.mjs check DATA RUN EXTRACT AGREEMENT
//
// `check` recomputes, without the engine's code, who is opted out (any record
// linked to the patient carries a listed NHS number), each patient's
// pseudonym (HMAC-SHA256 under the agreement's key of "nhs:<number>", the
// number held most often by the patient's valid records, or
// "rec:<source>:<id>" of the first record), and then asserts on the files:
//   - no pseudonym of a patient under the national data opt-out is in any
//     table when the legal basis is not exempt; no pseudonym of a type 1
//     patient is in a GP-derived table (the gp source, registrations); a
//     type 1 patient with only GP records is nowhere -- exactly zero;
//   - every pseudonym in the extract is one of the released patients';
//   - no value of any file is an NHS number, name, full postcode or date of
//     birth of the inputs;
//   - no aggregate shows a count of 1..7 outside the national total, and no
//     line of an aggregate holds exactly one "*".
// Prints one JSON line of counts; exits 1 on any failure.
import { DuckDBInstance } from '@duckdb/node-api';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const mode = process.argv[2];

function rng(seed) {
  let s = BigInt(seed) * 6364136223846793005n + 1442695040888963407n;
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(s >> 33n) / 2 ** 31;
  };
}

if (mode === 'gen') {
  const [seed, n, out] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const bases = ['consent', 'section_251', 'legal_requirement', 'anonymised_ico'];
  const patientGen = { dob: ['year', 'year_month', 'age_band'], sex: ['keep'], postcode: ['sector', 'district', 'area'] };
  const spellFields = ['provider', 'admidate', 'disdate', 'admimeth', 'dismeth', 'episodes', 'los', 'diag', 'practice'];
  const hesFields = { dob: ['year', 'age_band'], sex: ['keep'], postcode: ['district', 'area'], admidate: ['keep', 'month'],
    procode: null, diag_4_01: ['keep'], provider: ['keep'], epistat: ['keep'] };
  for (let i = 0; i < n; i++) {
    const a = {
      version: 1, reference: `DARS-NIC-${String(100 + i).padStart(6, '0')}`, recipient: `Recipient ${i}`,
      purpose: `Property test ${i}`, legal_basis: pick(bases), data_category: 'pseudonymised',
      key_file: i % 2 ? 'b.key' : 'a.key',
      opt_outs: { type1: r() < 0.8 ? ['optouts_type1.csv'] : [], national: r() < 0.8 ? ['optouts_ndoo.csv'] : [] },
      tables: {},
    };
    const tp = {};
    for (const [f, g] of Object.entries(patientGen)) if (r() < 0.7) tp[f] = pick(g);
    if (Object.keys(tp).length) a.tables.patients = { fields: tp };
    const ts = {};
    for (const f of spellFields) if (r() < 0.5) ts[f] = f.endsWith('date') ? pick(['keep', 'month']) : 'keep';
    if (Object.keys(ts).length) a.tables.spells = { fields: ts };
    if (r() < 0.5) a.tables.registrations = { fields: { practice: 'keep', start: pick(['keep', 'month']) } };
    if (r() < 0.5) a.tables.cips = { fields: { admidate: 'month', los: 'keep', spells: 'keep' } };
    if (r() < 0.5) {
      const th = {};
      for (const [f, g] of Object.entries(hesFields)) if (g && r() < 0.5) th[f] = pick(g);
      th.admidate = th.admidate || 'month';
      a.tables.hes = { fields: th };
    }
    if (r() < 0.5) a.tables.gp = { fields: { practice: 'keep', registration_date: 'month' } };
    if (!Object.keys(a.tables).length) a.tables.spells = { fields: { provider: 'keep' } };
    if (r() < 0.4) {
      a.cohort = {};
      if (r() < 0.5) a.cohort.from = '2018-01-01';
      if (r() < 0.5) a.cohort.to = '2023-12-31';
      if (r() < 0.4) a.cohort.age_min = 30;
      if (r() < 0.3) a.cohort.diag_prefixes = ['Z', 'I', 'J'];
      if (!Object.keys(a.cohort).length) delete a.cohort;
    }
    if (a.tables.patients && r() < 0.6) {
      a.k_anonymity = { quasi_identifiers: Object.keys(a.tables.patients.fields).map((f) => `patients.${f}`), k: 5 };
      if (r() < 0.5) { a.k_anonymity.min_k = 5; a.k_anonymity.on_fail = 'generalise'; }
    }
    if (r() < 0.7) {
      const row = pick(['provider', 'admidate:year']);
      const col = pick(['diag:chapter', 'admidate:year', 'dismeth'].filter((d) => d !== row));
      a.aggregates = [{ name: 'agg', table: 'spells', rows: [row], column: col, count: pick(['rows', 'patients']) }];
    }
    fs.writeFileSync(path.join(out, `agreement_${i}.json`), JSON.stringify(a, null, 2));
  }
  process.exit(0);
}

if (mode === 'hesonly') {
  // valid NHS numbers found in hospital records but on no GP record: a list of
  // them opts out patients only through linkage when their GP records are kept
  const [data, out] = process.argv.slice(3);
  const db0 = await DuckDBInstance.create(':memory:');
  const c0 = await db0.connect();
  const r = (await c0.runAndReadAll(`select distinct h.newnhsno from read_csv('${data}/hes_apc.csv', all_varchar=true) h
    where h.newnhsno is not null and h.newnhsno not in (select nhs_number from read_csv('${data}/gp.csv', all_varchar=true) where nhs_number is not null)
    order by 1`)).getRows();
  const ok = r.map((x) => String(x[0])).filter((v) => {
    if (!/^\d{10}$/.test(v)) return false;
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(v[i]) * (10 - i);
    let k = 11 - (sum % 11);
    if (k === 11) k = 0;
    return k !== 10 && k === Number(v[9]);
  });
  fs.writeFileSync(out, 'nhs_number\n' + ok.join('\n') + '\n');
  console.log(ok.length);
  process.exit(0);
}

const [data, run, ext, agreementPath] = process.argv.slice(3);
const agreement = JSON.parse(fs.readFileSync(agreementPath, 'utf8'));
const adir = path.dirname(agreementPath);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const rows = async (q) => (await c.runAndReadAll(q)).getRows();
let failures = 0;
const fail = (m) => { failures++; console.error('FAIL: ' + m); };

const nhsValid = (s) => {
  if (!/^\d{10}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(s[i]) * (10 - i);
  let chk = 11 - (sum % 11);
  if (chk === 11) chk = 0;
  return chk !== 10 && chk === Number(s[9]);
};
const listOf = async (files) => {
  const set = new Set();
  for (const f of files) for (const [v] of await rows(`select nhs_number::varchar from read_csv('${path.resolve(adir, f)}', all_varchar=true)`)) set.add(String(v).replace(/\D/g, ''));
  return set;
};
const t1 = await listOf(agreement.opt_outs.type1);
const nat = await listOf(agreement.opt_outs.national);

// records: source, id, patient, nhs
const links = await rows(`select source, record_id, patient_id from '${run}/links.parquet'`);
const pid = new Map();
for (const [s, id, p] of links) pid.set(`${s}|${id}`, Number(p));
const recs = [];
const ident = { nhs: new Set(), names: new Set(), pcs: new Set(), dobs: new Set() };
const addDob = (v) => {
  if (!v) return;
  ident.dobs.add(v);
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(v);
  if (m) ident.dobs.add(`${m[3]}-${m[2]}-${m[1]}`);
};
for (const [src, file, idc, nhsc, gc, fc, dobc, pcc] of [
  ['gp', 'gp.csv', 'record_id', 'nhs_number', 'given_name', 'family_name', 'date_of_birth', 'postcode'],
  ['hes', 'hes_apc.csv', 'epikey', 'newnhsno', 'given_name', 'family_name', 'dob', 'homeadd'],
]) {
  for (const [id, nhs, g, f, dob, pc] of await rows(
    `select "${idc}", "${nhsc}", "${gc}", "${fc}", "${dobc}", "${pcc}" from read_csv('${data}/${file}', all_varchar=true)`)) {
    const n = (nhs || '').replace(/\D/g, '');
    recs.push({ src, id, p: pid.get(`${src}|${id}`), nhs: nhsValid(n) ? n : null });
    if (n.length === 10) ident.nhs.add(n);
    for (const x of [g, f]) if (x && x.length >= 4) ident.names.add(x.toUpperCase());
    if (pc && pc.length >= 5) { ident.pcs.add(pc.toUpperCase()); ident.pcs.add(pc.toUpperCase().replace(/\s/g, '')); }
    addDob(dob);
  }
}
// what generalised postcodes and dates of birth may be
const derived = { sector: new Set(), district: new Set(), area: new Set(), year: new Set(), ym: new Set() };
for (const pc of ident.pcs) {
  const c = pc.replace(/\s/g, '');
  if (c.length < 5 || c.length > 7) continue;
  const out = c.slice(0, c.length - 3);
  derived.district.add(out);
  derived.sector.add(`${out} ${c[c.length - 3]}`);
  derived.area.add(out.match(/^[A-Z]+/)?.[0] ?? '');
}
for (const d of ident.dobs) {
  const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(d);
  if (m) { derived.year.add(m[1]); derived.ym.add(`${m[1]}-${m[2]}`); }
}
// patients
const P = new Map();
for (const r of recs) {
  if (r.p === undefined) continue; // rejected at ingest
  let q = P.get(r.p);
  if (!q) P.set(r.p, (q = { recs: [], t1: false, nat: false, nonGp: false }));
  q.recs.push(r);
  if (r.nhs && t1.has(r.nhs)) q.t1 = true;
  if (r.nhs && nat.has(r.nhs)) q.nat = true;
  if (r.src !== 'gp') q.nonGp = true;
}
const keyHex = fs.readFileSync(path.resolve(adir, agreement.key_file), 'utf8').trim();
const key = Buffer.from(keyHex, 'hex');
const exempt = ['consent', 'legal_requirement', 'anonymised_ico'].includes(agreement.legal_basis);
const pseud = new Map(); // pseudonym -> patient
let multiNhs = 0, modeMatters = 0;
for (const [p, q] of P) {
  const cnt = new Map();
  for (const r of q.recs) if (r.nhs) cnt.set(r.nhs, (cnt.get(r.nhs) || 0) + 1);
  let best = null, bc = 0;
  for (const [n, k] of cnt) if (k > bc || (k === bc && n < best)) { best = n; bc = k; }
  if (cnt.size > 1) multiNhs++;
  if (cnt.size > 1 && [...cnt.keys()].sort()[0] !== best) modeMatters++;
  let msg;
  if (best) msg = `nhs:${best}`;
  else {
    const srcOrder = ['gp', 'hes'];
    const first = [...q.recs].sort((a, b) => srcOrder.indexOf(a.src) - srcOrder.indexOf(b.src) ||
      (Buffer.compare(Buffer.from(a.id), Buffer.from(b.id))))[0];
    msg = `rec:${first.src}:${first.id}`;
  }
  q.pseudonym = createHmac('sha256', key).update(msg).digest('hex').slice(0, 32);
  pseud.set(q.pseudonym, p);
}

const gpDerived = new Set(['gp', 'registrations']);
let seen = 0, tables = 0, violations = 0;
const scanValue = (file, v) => {
  if (v === null || v === undefined) return;
  const s = String(v);
  const u = s.toUpperCase();
  if (ident.nhs.has(s.replace(/\D/g, '')) && /^\D*\d{10}\D*$/.test(s)) fail(`${file}: an NHS number of the inputs: ${s}`);
  if (ident.names.has(u)) fail(`${file}: a name of the inputs: ${s}`);
  if (ident.pcs.has(u) || ident.pcs.has(u.replace(/\s/g, ''))) fail(`${file}: a full postcode of the inputs: ${s}`);
  if (ident.dobs.has(s)) {
    // a kept event date may equal somebody's date of birth by chance: only dob-named columns count
  }
};
for (const f of fs.readdirSync(ext)) {
  const full = path.join(ext, f);
  if (f.endsWith('.parquet')) {
    tables++;
    const table = f.replace(/\.parquet$/, '');
    const cols = (await rows(`describe select * from '${full}'`)).map((r) => r[0]);
    if (cols[0] !== 'pseudonym') fail(`${f}: the first column is ${cols[0]}, not pseudonym`);
    for (const col of cols) {
      let nonNull = 0;
      for (const [v] of await rows(`select distinct "${col}"::varchar from '${full}'`)) {
        scanValue(f, v);
        if (v !== null) nonNull++;
        if (/^dob/.test(col) && v && /^\d{4}-\d{2}-\d{2}$/.test(v)) fail(`${f}: a full date of birth in ${col}`);
        // generalised values have the documented shapes and come from the inputs
        if (v === null) continue;
        const bad = (what) => fail(`${f}: ${col} value ${v} is not ${what}`);
        if (/postcode_sector$/.test(col) && !derived.sector.has(v)) bad('the sector of an input postcode');
        if (/postcode_district$/.test(col) && !derived.district.has(v)) bad('the district of an input postcode');
        if (/postcode_area$/.test(col) && !derived.area.has(v)) bad('the area of an input postcode');
        if (/^dob_year$/.test(col) && !derived.year.has(v)) bad('the year of an input date of birth');
        if (/^dob_year_month$/.test(col) && !derived.ym.has(v)) bad('the year and month of an input date of birth');
        if (/_age_band$/.test(col) && !/^(\d+-\d+|90\+)$/.test(v)) bad('an age band');
        if (/_age_band$/.test(col) && /^\d+-\d+$/.test(v)) {
          const [lo, hi] = v.split('-').map(Number);
          if (lo % 5 || hi !== lo + 4) bad('a 5-year band');
        }
        if (/_month$/.test(col) && !/^dob/.test(col) && !/^\d{4}-(0[1-9]|1[0-2])$/.test(v)) bad('a month');
      }
      if (/_withheld$/.test(col) && nonNull) fail(`${f}: ${col} holds values`);
    }
    // rows in pseudonym order: row order carries nothing from one agreement to another
    const unsorted = await rows(`select count(*) from (select pseudonym, lag(pseudonym) over () as prev from '${full}') where prev > pseudonym`);
    if (Number(unsorted[0][0]) > 0) fail(`${f}: rows are not in pseudonym order`);
    for (const [ps] of await rows(`select distinct pseudonym from '${full}'`)) {
      seen++;
      const p = pseud.get(ps);
      if (p === undefined) { fail(`${f}: pseudonym ${ps} is no patient's`); continue; }
      const q = P.get(p);
      if (q.nat && !exempt) { violations++; fail(`${f}: a patient under the national data opt-out`); }
      if (q.t1 && gpDerived.has(table)) { violations++; fail(`${f}: GP-derived data of a type 1 patient`); }
      if (q.t1 && !q.nonGp) { violations++; fail(`${f}: a type 1 patient known only from GP records`); }
    }
  } else if (f.endsWith('.csv')) {
    const lines = fs.readFileSync(full, 'utf8').trim().split('\n').map((l) => l.split(','));
    const head = lines[0];
    const body = lines.slice(1);
    const ncols = head.length;
    for (const l of lines) for (const v of l) scanValue(f, v);
    // counts: everything right of the dimension columns
    const dims = head.filter((h) => /^(provider|admidate_year|admidate_month|diag_chapter|dismeth|diag|disdate|practice)/.test(h)).length;
    for (const [ri, l] of body.entries()) {
      const isTotal = ri === body.length - 1;
      const cells = l.slice(dims);
      for (const [ci, v] of cells.entries()) {
        const grand = isTotal && ci === cells.length - 1;
        if (!grand && /^[1-7]$/.test(v) && !(body.length === 2 || ncols - dims === 2)) fail(`${f}: a count of ${v} shown`);
      }
      const stars = cells.filter((v) => v === '*').length;
      if (stars === 1) fail(`${f}: row ${ri + 1} holds exactly one *`);
    }
    for (let ci = dims; ci < ncols; ci++) {
      const stars = body.filter((l) => l[ci] === '*').length;
      if (stars === 1) fail(`${f}: column ${head[ci]} holds exactly one *`);
    }
  } else if (f.endsWith('.md') || f.endsWith('.json')) {
    const text = fs.readFileSync(full, 'utf8');
    for (const n of ident.nhs) if (text.includes(n)) { fail(`${f}: holds an NHS number`); break; }
    if (text.includes(keyHex)) fail(`${f}: holds the key`);
  }
}
console.log(JSON.stringify({ tables, pseudonyms: seen, violations, failures, patients: P.size, multiNhs, modeMatters }));
process.exit(failures ? 1 : 0);

// DuckDB reads the Parquet files `tessera link` writes (links.parquet,
// patients.parquet) and checks schema, row counts and values against the
// CSV copies the same run wrote and against the input files.
// usage: node tests/interop/link_interop.mjs RUN_DIR DATA_DIR
import { DuckDBInstance } from '@duckdb/node-api';

const [run, data] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (q) => (await con.runAndReadAll(q)).getRowObjectsJson();
let failed = 0;
const check = (ok, what, got) => {
  if (!ok) {
    failed++;
    console.error(`FAIL: ${what}: ${JSON.stringify(got)}`);
  }
};

const types = async (f) => Object.fromEntries((await rows(`DESCRIBE SELECT * FROM '${f}'`)).map((r) => [r.column_name, r.column_type]));
const lt = await types(`${run}/links.parquet`);
check(JSON.stringify(lt) === JSON.stringify({ source: 'VARCHAR', record_id: 'VARCHAR', patient_id: 'BIGINT', rule: 'VARCHAR', match_weight: 'DOUBLE', linked: 'BOOLEAN' }), 'links schema', lt);
const pt = await types(`${run}/patients.parquet`);
check(JSON.stringify(pt) === JSON.stringify({ patient_id: 'BIGINT', n_records: 'BIGINT', n_gp: 'BIGINT', n_hes: 'BIGINT', first_seen: 'DATE', last_seen: 'DATE' }), 'patients schema', pt);

// one links row per input row
const inRows = Number((await rows(`SELECT (SELECT count(*) FROM read_csv('${data}/gp.csv', all_varchar=true)) + (SELECT count(*) FROM read_csv('${data}/hes_apc.csv', all_varchar=true)) AS n`))[0].n);
const ln = await rows(`SELECT count(*) AS n, count(DISTINCT patient_id) AS p, count(rule) AS r, count(match_weight) AS w, sum(linked::INT) AS l FROM '${run}/links.parquet'`);
check(Number(ln[0].n) === inRows, 'links rows = input rows', { links: ln[0].n, inRows });
const wq = await rows(`SELECT count(*) FILTER (WHERE rule = 'probabilistic' AND match_weight IS NULL) AS pn,
  count(*) FILTER (WHERE rule IS DISTINCT FROM 'probabilistic' AND match_weight IS NOT NULL) AS dn,
  count(*) FILTER (WHERE rule = 'probabilistic') AS np FROM '${run}/links.parquet'`);
check(Number(wq[0].pn) === 0 && Number(wq[0].dn) === 0, 'match_weight is set exactly for probabilistic links', wq[0]);
check(Number(ln[0].r) === Number(ln[0].l), 'every linked record names its rule', ln[0]);

// Parquet and CSV hold the same rows, value for value
const diff = await rows(`SELECT count(*) AS n FROM (
  SELECT source, record_id, patient_id, rule, linked FROM '${run}/links.parquet'
  EXCEPT SELECT source, record_id::VARCHAR, patient_id, NULLIF(rule, ''), linked FROM read_csv('${run}/links.csv', types={'record_id':'VARCHAR','rule':'VARCHAR'}))`);
check(Number(diff[0].n) === 0, 'links.parquet EXCEPT links.csv is empty', diff[0]);
const pdiff = await rows(`SELECT count(*) AS n FROM (
  SELECT * FROM '${run}/patients.parquet' EXCEPT SELECT * FROM read_csv('${run}/patients.csv', types={'first_seen':'DATE','last_seen':'DATE'}))`);
check(Number(pdiff[0].n) === 0, 'patients.parquet EXCEPT patients.csv is empty', pdiff[0]);

// patients agree with links
const agg = await rows(`SELECT (SELECT count(*) FROM '${run}/patients.parquet') AS np, (SELECT sum(n_records) FROM '${run}/patients.parquet') AS nr,
  (SELECT count(*) FROM '${run}/patients.parquet' WHERE n_records <> n_gp + n_hes) AS bad,
  (SELECT count(*) FROM (SELECT patient_id, count(*) AS c FROM '${run}/links.parquet' GROUP BY 1) l JOIN '${run}/patients.parquet' p USING (patient_id) WHERE l.c <> p.n_records) AS mism,
  (SELECT min(patient_id) FROM '${run}/patients.parquet') AS lo, (SELECT max(patient_id) FROM '${run}/patients.parquet') AS hi,
  (SELECT count(*) FROM '${run}/patients.parquet' WHERE first_seen > last_seen) AS order_bad`);
const a = agg[0];
check(Number(a.np) === Number(ln[0].p), 'one patients row per patient id', a);
check(Number(a.nr) === inRows, 'n_records sums to the input rows', a);
check(Number(a.bad) === 0 && Number(a.mism) === 0, 'per-patient counts agree with links', a);
check(Number(a.lo) === 1 && Number(a.hi) === Number(a.np), 'patient ids are 1..N', a);
check(Number(a.order_bad) === 0, 'first_seen <= last_seen', a);

// several row groups when the run asks for small ones
const rg = await rows(`SELECT count(DISTINCT row_group_id) AS g, min(compression) AS c FROM parquet_metadata('${run}/links.parquet')`);
check(Number(rg[0].g) >= 2 && rg[0].c === 'ZSTD', 'links.parquet has several ZSTD row groups', rg[0]);

// pairs.parquet (a run with a probabilistic section): schema, order, weights
// and links agree with links.parquet
const fs = await import('node:fs');
if (fs.existsSync(`${run}/pairs.parquet`)) {
  const pq = `${run}/pairs.parquet`;
  const t = await types(pq);
  const names = Object.keys(t);
  check(names.slice(0, 5).join() === 'source_a,id_a,source_b,id_b,rule' && names.slice(-3).join() === 'match_weight,match_probability,linked' &&
    names.slice(5, -3).every((n) => n.startsWith('gamma_') && t[n] === 'INTEGER'), 'pairs schema', t);
  const q = await rows(`SELECT count(*) AS n,
    count(*) FILTER (WHERE abs(match_probability - 1 / (1 + pow(2, -match_weight))) > 1e-12) AS badp,
    count(*) FILTER (WHERE source_a = source_b AND id_a = id_b) AS self,
    count(*) FILTER (WHERE linked) AS nl FROM '${pq}'`);
  check(Number(q[0].n) > 0 && Number(q[0].badp) === 0 && Number(q[0].self) === 0, 'pairs rows, probabilities', q[0]);
  const rep = JSON.parse(fs.readFileSync(`${run}/report.json`, 'utf8')).probabilistic;
  check(Number(q[0].n) === rep.pairs_written, 'pairs rows = report pairs_written', { n: q[0].n, rep: rep.pairs_written });
  // a linked pair's two records end in one patient
  const lk = await rows(`SELECT count(*) AS n FROM '${pq}' p JOIN '${run}/links.parquet' x ON x.source = p.source_a AND x.record_id = p.id_a
    JOIN '${run}/links.parquet' y ON y.source = p.source_b AND y.record_id = p.id_b WHERE p.linked AND x.patient_id <> y.patient_id`);
  check(Number(lk[0].n) === 0, 'linked pairs share a patient', lk[0]);
  const np = Number(wq[0].np);
  check(np === rep.clusters.records_linked, 'probabilistic links rows = report records_linked', { np, rep: rep.clusters.records_linked });
}

// record ids map back to the input files
const ids = await rows(`SELECT count(*) AS n FROM '${run}/links.parquet' l LEFT JOIN read_csv('${data}/hes_apc.csv', all_varchar=true) h ON l.record_id = h.epikey WHERE l.source = 'hes' AND h.epikey IS NULL`);
check(Number(ids[0].n) === 0, 'every hes record_id is an epikey of the input', ids[0]);

if (failed) {
  console.error(`link_interop: ${failed} check(s) failed`);
  process.exit(1);
}
console.log('link_interop: all checks passed');

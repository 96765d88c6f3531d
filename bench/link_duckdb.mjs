// DuckDB peer for the deterministic-linkage benchmark: HESID-style step-down
// linkage (link and dedupe) of the generator's gp.csv and hes_apc.csv, all in
// SQL in one DuckDB instance. Each timed run (after one untimed warm-up) covers
// read_csv with explicit types + standardisation, the three linkage steps, and
// COPY of the links table to OUT_DIR/links_duckdb.parquet (zstd).
// CSV on stdout; per-step linked counts and peak RSS on stderr.
// usage: node bench/link_duckdb.mjs DATA_DIR OUT_DIR [threads=2] [runs=1]
//
// Semantics (per step k, key fields all non-NULL): group eligible records
// (matched or not) by the key; C = distinct patient ids of matched members.
// |C| >= 2: ambiguous, nothing linked. |C| = 1: unmatched members join it.
// |C| = 0 and >= 2 members: they form a patient, id = smallest uid. Matched
// records never move. Unmatched at the end: own patient (id = uid), rule NULL.
// |C| <= 1 is tested as min(pid) = max(pid) (or no pid), avoiding count(DISTINCT).
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const dir = resolve(process.argv[2] || '');
const outDir = resolve(process.argv[3] || '');
const threads = Number(process.argv[4] || 2);
const runs = Number(process.argv[5] || 1);
if (!process.argv[2] || !process.argv[3]) {
  console.error('usage: node bench/link_duckdb.mjs DATA_DIR OUT_DIR [threads=2] [runs=1]');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const outFile = `${outDir}/links_duckdb.parquet`;

// Matching fields are read as VARCHAR and standardised in SQL; the rest keep
// the ingest benchmark's types (projection pushdown skips them anyway).
const gpCols = `{'record_id':'VARCHAR','nhs_number':'VARCHAR','given_name':'VARCHAR','family_name':'VARCHAR',
  'date_of_birth':'VARCHAR','sex':'VARCHAR','postcode':'VARCHAR','address_line1':'VARCHAR','practice_code':'VARCHAR',
  'registration_date':'DATE','deregistration_date':'DATE'}`;
const hesCols = `{'epikey':'VARCHAR','newnhsno':'VARCHAR','dob':'VARCHAR','sex':'VARCHAR','homeadd':'VARCHAR',
  'procode':'VARCHAR','lopatid':'VARCHAR','admidate':'DATE','epistart':'DATE','epiend':'DATE','disdate':'DATE',
  'epiorder':'INTEGER','epistat':'VARCHAR','admimeth':'VARCHAR','admisorc':'VARCHAR','disdest':'VARCHAR',
  'dismeth':'VARCHAR','classpat':'VARCHAR','diag_4_01':'VARCHAR','opertn_4_01':'VARCHAR','given_name':'VARCHAR',
  'family_name':'VARCHAR'}`;

// Standardisation macros. NHS number: strip spaces/dashes, exactly 10 digits,
// not all one digit (n % 1111111111 = 0), modulus-11 check (weights 10..2 on
// digits 1-9; (11 - sum % 11) % 11 maps 11 -> 0 and leaves 10, which can never
// equal digit 10, so it is rejected).
const weighted = [...Array(9).keys()]
  .map((i) => `(n // ${10 ** (9 - i)}) % 10 * ${10 - i}`).join(' + ');
const macros = [
  `CREATE OR REPLACE MACRO nhs_valid(n) AS
     CASE WHEN n % 1111111111 <> 0 AND (11 - (${weighted}) % 11) % 11 = n % 10 THEN n END`,
  `CREATE OR REPLACE MACRO sex_std(s) AS
     CASE upper(trim(s)) WHEN 'M' THEN 1 WHEN '1' THEN 1 WHEN 'F' THEN 2 WHEN '2' THEN 2 END::UTINYINT`,
  `CREATE OR REPLACE MACRO txt_std(s) AS nullif(trim(s), '')`,
];
// Step 1, load + standardise, one CTAS per file straight from read_csv. The
// inner select strips the NHS number and postcode once; the outer validates.
// Tables keep file order (preserve_insertion_order), so rowid is the row's
// position in its file: uid = rowid + 1 for gp, hes continues after gp.
const std = ({ file, cols, fmt, id, nhs, dob, pc, extra = [] }) => `
  SELECT ${id} AS record_id, nhs_valid(n) AS nhs, sex, dob,
         CASE WHEN pcs <> '' AND NOT starts_with(pcs, 'ZZ99') THEN pcs END AS pc${extra.map(([a]) => `, ${a}`).join('')}
  FROM (SELECT ${id}, sex_std(sex) AS sex, CAST(try_strptime(${dob}, '${fmt}') AS DATE) AS dob,
               CASE WHEN regexp_full_match(nhs_s, '[0-9]{10}') THEN CAST(nhs_s AS BIGINT) END AS n,
               replace(upper(${pc}), ' ', '') AS pcs${extra.map(([a, e]) => `, ${e} AS ${a}`).join('')}
        FROM (SELECT *, replace(replace(${nhs}, ' ', ''), '-', '') AS nhs_s
              FROM read_csv(${q(file)}, header=true, delim=',', quote='"', columns=${cols}, dateformat='${fmt}')))`;
const load = [
  `CREATE OR REPLACE TABLE gp AS ${std({ file: `${dir}/gp.csv`, cols: gpCols, fmt: '%d/%m/%Y',
    id: 'record_id', nhs: 'nhs_number', dob: 'date_of_birth', pc: 'postcode' })}`,
  `CREATE OR REPLACE TABLE hes AS ${std({ file: `${dir}/hes_apc.csv`, cols: hesCols, fmt: '%Y-%m-%d',
    id: 'epikey', nhs: 'newnhsno', dob: 'dob', pc: 'homeadd',
    extra: [['prov', 'txt_std(procode)'], ['lid', 'txt_std(lopatid)']] })}`,
];

// Step 2, linkage. State lives in table s (one row per record): pid = patient
// id once matched, step = the step that matched it (NULL = unmatched).
// hesid_1: nobody is matched yet, so every key group of >= 2 is a new patient;
// it is computed by a window while s is built from gp + hes (rows whose key
// has a NULL share a partition but are excluded by the CASE).
// hesid_2/3: a window over the eligible rows gives, per key group, the size,
// min/max of the members' pids (|C| <= 1 iff min = max or both NULL) and the
// smallest uid; the unmatched members of non-ambiguous groups of >= 2 go to
// l2/l3 and are written back to s with an UPDATE (small: ~1-2% of rows).
const keys = {
  hesid_1: ['sex', 'dob', 'nhs'],
  hesid_2: ['sex', 'dob', 'pc', 'prov', 'lid'],
  hesid_3: ['sex', 'dob', 'pc'],
};
const notNull = (k) => k.map((c) => `${c} IS NOT NULL`).join(' AND ');
const stepDown = (i) => {
  const k = keys[`hesid_${i}`];
  return [
    `CREATE OR REPLACE TABLE l${i} AS
     SELECT uid, coalesce(mn, mu) AS pid FROM (
       SELECT uid, pid, count(*) OVER w AS n, min(pid) OVER w AS mn, max(pid) OVER w AS mx, min(uid) OVER w AS mu
       FROM s WHERE ${notNull(k)}
       WINDOW w AS (PARTITION BY ${k.join(', ')}))
     WHERE pid IS NULL AND n >= 2 AND (mn IS NULL OR mn = mx)`,
    `UPDATE s SET pid = l${i}.pid, step = ${i} FROM l${i} WHERE s.uid = l${i}.uid`,
  ];
};
const link = [
  `CREATE OR REPLACE TABLE s AS
   SELECT *, CASE WHEN pid IS NOT NULL THEN 1 END::UTINYINT AS step FROM (
     SELECT uid, src, record_id, sex, dob, pc, prov, lid,
            CASE WHEN ${notNull(keys.hesid_1)} AND count(*) OVER w >= 2 THEN min(uid) OVER w END AS pid
     FROM (SELECT rowid + 1 AS uid, 'gp' AS src, record_id, sex, dob, nhs, pc,
                  NULL::VARCHAR AS prov, NULL::VARCHAR AS lid
           FROM gp
           UNION ALL
           SELECT rowid + 1 + (SELECT count(*) FROM gp), 'hes', record_id, sex, dob, nhs, pc, prov, lid
           FROM hes)
     WINDOW w AS (PARTITION BY ${keys.hesid_1.join(', ')}))`,
  ...stepDown(2),
  ...stepDown(3),
];

// Step 3, one row per input record in uid order; unmatched = own patient.
const copy = [
  `COPY (
     SELECT src AS source, record_id, coalesce(pid, uid)::BIGINT AS patient_id,
            'hesid_' || step AS rule, pid IS NOT NULL AS linked
     FROM s ORDER BY uid)
   TO ${q(outFile)} (FORMAT parquet, COMPRESSION zstd)`,
];

let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);

const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await db.connect();
const one = async (sql) => (await (await con.run(sql)).getRows())[0];
for (const s of macros) await con.run(s);

console.log('bench,threads,run,seconds,gp_rows,hes_rows,linked_records,patients');
for (let r = -1; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const lap = [];
  for (const [name, stmts] of [['load', load], ['link', link], ['copy', copy]]) {
    const t1 = process.hrtime.bigint();
    for (const s of stmts) await con.run(s);
    lap.push(`${name}=${(Number(process.hrtime.bigint() - t1) / 1e9).toFixed(3)}s`);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;

  // Untimed: counts from the tables and from the written file.
  const [gpRows, hesRows] = (await one(`SELECT (SELECT count(*) FROM gp), (SELECT count(*) FROM hes)`)).map(Number);
  const [steps1, steps2, steps3] = (await one(
    `SELECT (SELECT count(*) FROM s WHERE step = 1), (SELECT count(*) FROM l2), (SELECT count(*) FROM l3)`)).map(Number);
  const [rowsOut, linked, patients] = (await one(
    `SELECT count(*), count(*) FILTER (WHERE linked), count(DISTINCT patient_id) FROM read_parquet(${q(outFile)})`))
    .map(Number);
  if (rowsOut !== gpRows + hesRows) throw new Error(`rows out ${rowsOut} != ${gpRows} + ${hesRows}`);
  console.error(`# run ${r < 0 ? 'warm-up' : r}: ${lap.join(' ')} hesid_1=${steps1} hesid_2=${steps2} ` +
    `hesid_3=${steps3} linked=${linked} unlinked=${rowsOut - linked} patients=${patients} ` +
    `peak_rss_mb=${(peakRss / 1048576).toFixed(0)}`);
  if (r >= 0)
    console.log(`duckdb_hesid,${threads},${r},${secs.toFixed(3)},${gpRows},${hesRows},${linked},${patients}`);
  for (const t of ['l3', 'l2', 's', 'hes', 'gp']) await con.run(`DROP TABLE IF EXISTS ${t}`);
}
clearInterval(sampler);
con.closeSync?.();

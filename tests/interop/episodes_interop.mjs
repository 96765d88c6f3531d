// DuckDB reads the four episode files of a run (tests/integration/episodes_cli.sh):
// schemas, every finished episode in one spell and every spell in one CIPS,
// the linked patient ids.
// usage: node tests/interop/episodes_interop.mjs RUN_DIR
import { DuckDBInstance } from '@duckdb/node-api';
const run = process.argv[2];
const db = await DuckDBInstance.create(':memory:'); const con = await db.connect();
const q = async (s) => (await con.runAndReadAll(s)).getRowObjectsJson();
let failed = 0;
const check = (c, what, got) => { if (!c) { failed++; console.error(`FAIL: ${what}: ${JSON.stringify(got)}`); } };
const types = async (f) => Object.fromEntries((await q(`DESCRIBE SELECT * FROM '${run}/${f}'`)).map((r) => [r.column_name, r.column_type]));
const want = {
  'episodes.parquet': { source: 'VARCHAR', record_id: 'VARCHAR', patient_id: 'BIGINT', spell_id: 'BIGINT', cips_id: 'BIGINT', spell_order: 'INTEGER', finished: 'BOOLEAN' },
  'cips.parquet': { cips_id: 'BIGINT', patient_id: 'BIGINT', admidate: 'DATE', disdate: 'DATE', spells: 'INTEGER', providers: 'INTEGER', los: 'INTEGER' },
  'registrations.parquet': { patient_id: 'BIGINT', practice: 'VARCHAR', start: 'DATE', end: 'DATE' },
};
for (const [f, t] of Object.entries(want)) { const got = await types(f); check(JSON.stringify(got) === JSON.stringify(t), `${f} schema`, got); }
const st = await types('spells.parquet');
check(st.spell_id === 'BIGINT' && st.patient_id === 'BIGINT' && st.cips_id === 'BIGINT' && st.admidate === 'DATE' && st.episodes === 'INTEGER', 'spells schema', st);
const c = (await q(`SELECT
  (SELECT count(*) FROM '${run}/spells.parquet') AS ns,
  (SELECT count(DISTINCT spell_id) FROM '${run}/episodes.parquet' WHERE finished) AS es,
  (SELECT sum(episodes) FROM '${run}/spells.parquet') AS se,
  (SELECT count(*) FROM '${run}/episodes.parquet' WHERE finished) AS ef,
  (SELECT count(*) FROM '${run}/cips.parquet') AS nc,
  (SELECT sum(spells) FROM '${run}/cips.parquet') AS cs,
  (SELECT count(*) FROM '${run}/episodes.parquet' e JOIN '${run}/links.parquet' l USING (source, record_id) WHERE e.patient_id <> l.patient_id) AS pid_bad,
  (SELECT count(*) FROM (SELECT spell_id FROM '${run}/episodes.parquet' WHERE finished GROUP BY spell_id HAVING count(DISTINCT cips_id) > 1)) AS two_cips`))[0];
check(c.ns === c.es && c.se === c.ef, 'every finished episode in exactly one spell', c);
check(c.cs === c.ns && c.two_cips === '0', 'every spell in exactly one CIPS', c);
check(c.pid_bad === '0', 'episodes carry the linked patient id', c);
process.exit(failed ? 1 : 0);

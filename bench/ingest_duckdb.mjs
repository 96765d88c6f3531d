// DuckDB peer for the ingest benchmark: loads the generator's gp.csv and
// hes_apc.csv into typed tables with read_csv and explicit column types, at
// the given thread counts, one warm-up and N timed runs each. CSV on stdout.
// usage: node bench/ingest_duckdb.mjs DATA_DIR [threads=1,2] [runs=3]
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync } from 'node:fs';

const dir = process.argv[2];
const threads = (process.argv[3] || '1,2').split(',').map(Number);
const runs = Number(process.argv[4] || 3);

const gpCols = `{'record_id':'BIGINT','nhs_number':'VARCHAR','given_name':'VARCHAR','family_name':'VARCHAR',
  'date_of_birth':'DATE','sex':'VARCHAR','postcode':'VARCHAR','address_line1':'VARCHAR','practice_code':'VARCHAR',
  'registration_date':'DATE','deregistration_date':'DATE'}`;
const hesCols = `{'epikey':'BIGINT','newnhsno':'VARCHAR','dob':'DATE','sex':'VARCHAR','homeadd':'VARCHAR',
  'procode':'VARCHAR','lopatid':'VARCHAR','admidate':'DATE','epistart':'DATE','epiend':'DATE','disdate':'DATE',
  'epiorder':'INTEGER','epistat':'VARCHAR','admimeth':'VARCHAR','admisorc':'VARCHAR','disdest':'VARCHAR',
  'dismeth':'VARCHAR','classpat':'VARCHAR','diag_4_01':'VARCHAR','opertn_4_01':'VARCHAR','given_name':'VARCHAR',
  'family_name':'VARCHAR'}`;
const sources = [
  { name: 'gp', file: `${dir}/gp.csv`, cols: gpCols, opts: `dateformat='%d/%m/%Y'` },
  { name: 'hes', file: `${dir}/hes_apc.csv`, cols: hesCols, opts: `dateformat='%Y-%m-%d'` },
];

console.log('bench,source,threads,run,seconds,rows,mb,mb_per_s,rows_per_s');
for (const t of threads) {
  for (const s of sources) {
    const mb = statSync(s.file).size / 1e6;
    for (let r = -1; r < runs; r++) {
      const db = await DuckDBInstance.create(':memory:', { threads: String(t) });
      const con = await db.connect();
      const t0 = process.hrtime.bigint();
      await con.run(`CREATE TABLE ${s.name} AS SELECT * FROM read_csv('${s.file}', header=true, delim=',', quote='"',
        columns=${s.cols}, ${s.opts})`);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const rows = Number((await (await con.run(`SELECT count(*) FROM ${s.name}`)).getRows())[0][0]);
      if (r >= 0)
        console.log(`duckdb,${s.name},${t},${r},${secs.toFixed(3)},${rows},${mb.toFixed(1)},${(mb / secs).toFixed(1)},${(rows / secs).toFixed(0)}`);
      con.closeSync?.();
    }
  }
}

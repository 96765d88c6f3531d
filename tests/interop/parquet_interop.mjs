// DuckDB reads the Parquet files tests/interop/pq_cases.c wrote and checks
// types, row counts, nulls, values, and the footer as parquet_metadata(),
// parquet_schema() and parquet_file_metadata() see it. The expected values
// are recomputed here from the same row-number formulas pq_cases uses.
// usage: node tests/interop/parquet_interop.mjs FOLDER   (exit 1 on any mismatch)
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node parquet_interop.mjs FOLDER');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await db.connect();

let failures = 0, passes = 0;
async function q(sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJson();
}
function check(what, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g === w) {
    passes++;
  } else {
    failures++;
    console.error(`FAIL ${what}\n  got:  ${g}\n  want: ${w}`);
  }
}
const f = (name) => `${dir}/${name}`;
const day = (d) => new Date(d * 86400000).toISOString().slice(0, 10);
const types = async (file) => (await q(`DESCRIBE SELECT * FROM read_parquet('${f(file)}')`)).map((r) => `${r.column_name}:${r.column_type}`);
const meta = async (file) => q(`SELECT * FROM parquet_metadata('${f(file)}') ORDER BY row_group_id, column_id`);
const has = (encodings, e) => encodings.split(',').map((s) => s.trim()).includes(e);

const ALL_TYPES = ['b:BOOLEAN', 'i32:INTEGER', 'i64:BIGINT', 'f64:DOUBLE', 's:VARCHAR', 'd:DATE'];

// --- nulls.parquet: every type, OPTIONAL, nulls ---------------------------------
{
  const file = 'nulls.parquet', n = 1000;
  const validity = [(i) => i % 5 !== 0, (i) => i % 7 !== 0, (i) => i % 4 !== 1, (i) => i % 6 !== 2,
    (i) => i % 9 !== 0, (i) => i % 8 !== 3];
  const value = [(i) => i % 3 === 0, (i) => i - 500, (i) => String(BigInt(i) * 1000000007n), (i) => i * 0.5,
    (i) => `s${i}`, (i) => day(18000 + i)];
  const cols = ['b', 'i32', 'i64', 'f64', 's', 'd'];
  check(`${file} types`, await types(file), ALL_TYPES);
  const rows = await q(`SELECT file_row_number AS r, * FROM read_parquet('${f(file)}', file_row_number=true) ORDER BY r`);
  check(`${file} row count`, rows.length, n);
  let bad = 0;
  for (let i = 0; i < rows.length && bad < 5; i++) {
    for (let c = 0; c < 6; c++) {
      const want = validity[c](i) ? value[c](i) : null;
      if (JSON.stringify(rows[i][cols[c]]) !== JSON.stringify(want)) {
        bad++;
        check(`${file} row ${i} column ${cols[c]}`, rows[i][cols[c]], want);
      }
    }
  }
  check(`${file} every value of every row`, bad, 0);
  const idx = [...Array(n).keys()];
  const nulls = validity.map((v) => idx.filter((i) => !v(i)).length);
  const [agg] = await q(`SELECT count(*) AS n, count(b) AS b, count(i32) AS i32, count(i64) AS i64, count(f64) AS f64,
      count(s) AS s, count(d) AS d, sum(i32) AS si32, sum(i64) AS si64, sum(f64) AS sf64,
      sum(b::INT) AS sb, min(s) AS mins, max(s) AS maxs, min(d) AS mind, max(d) AS maxd
    FROM read_parquet('${f(file)}')`);
  check(`${file} non-null counts`, cols.map((c) => Number(agg[c])), nulls.map((k) => n - k));
  const sum = (c, fn) => idx.filter(validity[c]).reduce((a, i) => a + fn(i), 0);
  check(`${file} sum(i32)`, Number(agg.si32), sum(1, (i) => i - 500));
  check(`${file} sum(i64)`, String(agg.si64),
    String(idx.filter(validity[2]).reduce((a, i) => a + BigInt(i) * 1000000007n, 0n)));
  check(`${file} sum(f64)`, Number(agg.sf64), sum(3, (i) => i * 0.5));
  check(`${file} sum(b)`, Number(agg.sb), sum(0, (i) => (i % 3 === 0 ? 1 : 0)));
  check(`${file} min/max strings`, [agg.mins, agg.maxs], ['s1', 's998']);
  const dates = idx.filter(validity[5]);
  check(`${file} min/max dates`, [agg.mind, agg.maxd], [day(18000 + dates[0]), day(18000 + dates[dates.length - 1])]);

  const m = await meta(file);
  check(`${file} one row group of ${n}`, m.map((r) => [r.row_group_id, r.row_group_num_rows]), cols.map(() => ['0', String(n)]));
  check(`${file} compression`, m.map((r) => r.compression), cols.map(() => 'ZSTD'));
  check(`${file} stats_null_count`, m.map((r) => Number(r.stats_null_count)), nulls);
  check(`${file} definition levels are RLE`, m.every((r) => has(r.encodings, 'RLE')), true);
  check(`${file} stats min/max`, m.map((r) => [r.path_in_schema, r.stats_min_value, r.stats_max_value]).map(
    ([p, lo, hi]) => (p === 'f64' ? [p, Number(lo), Number(hi)] : [p, lo, hi])), [
    ['b', 'false', 'true'], ['i32', '-499', '499'], ['i64', '0', '999000006993'], ['f64', 0, 499.5],
    ['s', 's1', 's998'], ['d', day(18000), day(18999)]]);
  const schema = await q(`SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema('${f(file)}')`);
  check(`${file} schema`, schema.map((r) => [r.name, r.type, r.repetition_type, r.converted_type, r.logical_type]), [
    ['schema', null, null, null, null], ['b', 'BOOLEAN', 'OPTIONAL', null, null], ['i32', 'INT32', 'OPTIONAL', null, null],
    ['i64', 'INT64', 'OPTIONAL', null, null], ['f64', 'DOUBLE', 'OPTIONAL', null, null],
    ['s', 'BYTE_ARRAY', 'OPTIONAL', 'UTF8', 'StringType()'], ['d', 'INT32', 'OPTIONAL', 'DATE', 'DateType()']]);
  const [fm] = await q(`SELECT created_by, num_rows, num_row_groups FROM parquet_file_metadata('${f(file)}')`);
  check(`${file} file metadata`, [fm.created_by.startsWith('tessera version '), fm.num_rows, fm.num_row_groups], [true, String(n), '1']);
}

// --- empty.parquet: schema and no row groups -------------------------------------
{
  const file = 'empty.parquet';
  check(`${file} types`, await types(file), ALL_TYPES);
  const [c] = await q(`SELECT count(*) AS n, count(s) AS s, sum(i64) AS si FROM read_parquet('${f(file)}')`);
  check(`${file} rows`, [c.n, c.s, c.si], ['0', '0', null]);
  const [fm] = await q(`SELECT num_rows, num_row_groups FROM parquet_file_metadata('${f(file)}')`);
  check(`${file} file metadata`, [fm.num_rows, fm.num_row_groups], ['0', '0']);
  check(`${file} no row groups`, (await meta(file)).length, 0);
}

// --- multi_rg.parquet: 250000 rows in row groups of 50000 ----------------------------
{
  const file = 'multi_rg.parquet', n = 250000;
  check(`${file} types`, await types(file), ['id:BIGINT', 'grp:INTEGER', 'val:DOUBLE']);
  const [a] = await q(`SELECT count(*) AS n, sum(id) AS sid, min(id) AS lo, max(id) AS hi, sum(grp) AS sg,
      sum(val) AS sv, count(DISTINCT grp) AS dg, bool_and(grp = id % 100) AS grp_ok,
      bool_and(val = (id % 1000) / 8.0) AS val_ok FROM read_parquet('${f(file)}')`);
  check(`${file} aggregates`, [a.n, a.sid, a.lo, a.hi, a.sg, Number(a.sv), a.dg, a.grp_ok, a.val_ok],
    [String(n), String((n * (n - 1)) / 2), '0', String(n - 1), String((n / 100) * 4950), (n / 1000) * (999 * 1000 / 2) / 8,
      '100', true, true]);
  const m = await meta(file);
  const groups = [...new Set(m.map((r) => r.row_group_id))];
  check(`${file} row groups`, groups.length, 5);
  check(`${file} rows per row group`, [...new Set(m.map((r) => r.row_group_num_rows))], ['50000']);
  const enc = (col) => m.filter((r) => r.path_in_schema === col).map((r) => has(r.encodings, 'RLE_DICTIONARY'));
  check(`${file} id is PLAIN`, enc('id'), [false, false, false, false, false]);
  check(`${file} grp is dictionary`, enc('grp'), [true, true, true, true, true]);
  const ids = m.filter((r) => r.path_in_schema === 'id');
  check(`${file} id stats per row group`, ids.map((r) => [r.stats_min_value, r.stats_max_value, r.stats_null_count]),
    [0, 1, 2, 3, 4].map((g) => [String(g * 50000), String(g * 50000 + 49999), '0']));
}

// --- dict_plain.parquet: forced DICT, forced PLAIN, AUTO ---------------------------------
{
  const file = 'dict_plain.parquet', n = 20000;
  check(`${file} types`, await types(file), ['dict_s:VARCHAR', 'plain_s:VARCHAR', 'auto_few:BIGINT', 'auto_uniq:BIGINT']);
  const m = await meta(file);
  const info = Object.fromEntries(m.map((r) => [r.path_in_schema, [has(r.encodings, 'RLE_DICTIONARY'), r.dictionary_page_offset !== null]]));
  check(`${file} encodings`, info, { dict_s: [true, true], plain_s: [false, false], auto_few: [true, true], auto_uniq: [false, false] });
  const [a] = await q(`SELECT count(*) AS n, count(*) FILTER (WHERE dict_s <> plain_s) AS differ,
      count(*) FILTER (WHERE dict_s <> 'cat' || (file_row_number % 10)) AS wrong, sum(auto_few) AS sf, sum(auto_uniq) AS su
      FROM read_parquet('${f(file)}', file_row_number=true)`);
  check(`${file} values`, [a.n, a.differ, a.wrong, a.sf, a.su], [String(n), '0', '0', String((n / 4) * 60), String((3 * n * (n - 1)) / 2)]);
  check(`${file} string stats`, m.filter((r) => r.type === 'BYTE_ARRAY').map((r) => [r.stats_min_value, r.stats_max_value]),
    [['cat0', 'cat9'], ['cat0', 'cat9']]);
}

// --- unicode.parquet: non-ASCII, empty string and null, uncompressed -------------------------
{
  const file = 'unicode.parquet';
  check(`${file} types`, await types(file), ['row:INTEGER', 's:VARCHAR']);
  const rows = await q(`SELECT row, s, octet_length(encode(s)) AS bytes FROM read_parquet('${f(file)}') ORDER BY row`);
  const want = ['Zoë', 'Ōkubo', 'Łódź', '北京', '😀🎉', '', 'plain', null];
  check(`${file} values`, rows.map((r) => r.s), want);
  check(`${file} byte lengths`, rows.map((r) => r.bytes), want.map((w) => (w === null ? null : String(Buffer.byteLength(w)))));
  const m = await meta(file);
  check(`${file} compression`, m.map((r) => r.compression), ['UNCOMPRESSED', 'UNCOMPRESSED']);
  const s = m.find((r) => r.path_in_schema === 's');
  check(`${file} string stats (byte-wise order)`, [s.stats_min_value, s.stats_max_value, s.stats_null_count], ['', '😀🎉', '1']);
}

console.log(`parquet interop: ${passes} checks passed, ${failures} failed`);
process.exit(failures ? 1 : 0);

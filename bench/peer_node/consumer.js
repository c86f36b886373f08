// The bench's peer: a Debezium -> PostgreSQL sink written the way a typical
// KafkaJS + node-postgres user writes it.  eachBatch per partition: decode
// the JSON envelopes (with or without the schema), collapse the batch to the
// last change per key, then one transaction with one multi-row
// INSERT ... ON CONFLICT DO UPDATE (chunked under the 65535-parameter limit)
// and one DELETE ... = ANY, COMMIT, and only then commit the Kafka offset.
//
// Configuration (environment): BOOTSTRAP, GROUP, TOPIC, PGURL (libpq-style
// connection string), TABLE, COLUMNS (comma-separated, primary key first),
// DECIMAL (string|precise: Connect Decimal base64 with scale SCALE).
// Runs until SIGTERM/SIGINT, then leaves the group and exits 0.
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { Pool } = require('pg');

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};

const TOPIC = env('TOPIC');
const TABLE = env('TABLE');
const COLUMNS = env('COLUMNS').split(',');
const PK = COLUMNS[0];
const DECIMAL = env('DECIMAL', 'string');
const SCALE = Number(env('SCALE', '2'));
const DECIMAL_COLS = new Set(env('DECIMAL_COLUMNS', 'balance').split(','));
const TOAST_COLS = new Set(env('TOAST_COLUMNS', 'notes').split(','));
const PLACEHOLDER = '__debezium_unavailable_value';

const kafka = new Kafka({
  clientId: 'cdc-sink',
  brokers: env('BOOTSTRAP').split(','),
  logLevel: logLevel.ERROR,
});
// MAX_WAIT_MS: set by the bench only to offset the mock broker's habit of
// holding an empty Fetch for the whole wait (see bench/README.md).
const consumer = kafka.consumer({ groupId: env('GROUP'),
                                  maxWaitTimeInMs: Number(env('MAX_WAIT_MS', '5000')) });
const pool = new Pool({ connectionString: env('PGURL'), max: 2 });

// Connect Decimal: big-endian two's complement unscaled value, base64.
function decodeDecimal(b64) {
  const buf = Buffer.from(b64, 'base64');
  let n = 0n;
  for (const byte of buf) n = (n << 8n) | BigInt(byte);
  if (buf.length && buf[0] & 0x80) n -= 1n << BigInt(buf.length * 8);
  const neg = n < 0n;
  let s = (neg ? -n : n).toString().padStart(SCALE + 1, '0');
  if (SCALE > 0) s = s.slice(0, -SCALE) + '.' + s.slice(-SCALE);
  return (neg ? '-' : '') + s;
}

const updateSet = COLUMNS.slice(1).map((c) =>
  TOAST_COLS.has(c)
    ? `${c} = CASE WHEN EXCLUDED.${c} = '${PLACEHOLDER}' THEN t.${c} ELSE EXCLUDED.${c} END`
    : `${c} = EXCLUDED.${c}`).join(', ');
const MAX_ROWS = Math.floor(65535 / COLUMNS.length);

async function upsert(client, rows) {
  for (let i = 0; i < rows.length; i += MAX_ROWS) {
    const chunk = rows.slice(i, i + MAX_ROWS);
    const params = [];
    const tuples = chunk.map((row) => {
      const ph = COLUMNS.map((c) => {
        params.push(row[c]);
        return `$${params.length}`;
      });
      return `(${ph.join(',')})`;
    });
    await client.query(
      `INSERT INTO ${TABLE} AS t (${COLUMNS.join(',')}) VALUES ${tuples.join(',')} ` +
      `ON CONFLICT (${PK}) DO UPDATE SET ${updateSet}`, params);
  }
}

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const latest = new Map(); // id -> row object, or null for a delete
      for (const m of batch.messages) {
        if (m.value === null) continue; // tombstone
        let v = JSON.parse(m.value.toString());
        if (v.schema !== undefined && v.payload !== undefined) v = v.payload;
        let k = JSON.parse(m.key.toString());
        if (k.schema !== undefined && k.payload !== undefined) k = k.payload;
        const id = k[PK];
        if (v.op === 'd') {
          latest.set(id, null);
          continue;
        }
        const row = {};
        const prev = latest.get(id);
        for (const c of COLUMNS) {
          let x = v.after[c];
          if (x === PLACEHOLDER && prev) x = prev[c]; // unchanged TOAST
          else if (x != null && DECIMAL === 'precise' && DECIMAL_COLS.has(c)) x = decodeDecimal(x);
          row[c] = x === undefined ? null : x;
        }
        latest.set(id, row);
      }
      const rows = [];
      const deletes = [];
      for (const [id, row] of latest) (row ? rows.push(row) : deletes.push(id));

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        if (rows.length) await upsert(client, rows);
        if (deletes.length) await client.query(`DELETE FROM ${TABLE} WHERE ${PK} = ANY($1)`, [deletes]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
      const last = batch.messages[batch.messages.length - 1].offset;
      resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition,
                                      offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
    },
  });
}

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  try {
    await consumer.disconnect();
    await pool.end();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

main().catch((e) => {
  console.error('peer: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

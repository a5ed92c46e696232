// A stand-in for `wrangler` in tests of scripts/deploy.sh: records every call and answers the
// few commands the script uses the way wrangler 4 does, keeping the "account" (D1 databases, KV
// namespaces, the Worker and its secrets) as JSON files in $FAKE_WRANGLER_STATE.
//
//   WRANGLER="node tests/deploy/fake-wrangler.mjs" FAKE_WRANGLER_STATE=dir scripts/deploy.sh
//
// Files in the state directory: calls.jsonl (one call a line), d1.json, kv.json, secrets.json
// (name -> value, as uploaded), deployed (present once deployed), logged-out (makes `whoami`
// fail), uploads.jsonl (each secrets file as `deploy --secrets-file` saw it).
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const state = process.env.FAKE_WRANGLER_STATE;
if (!state) {
  console.error('FAKE_WRANGLER_STATE is not set');
  process.exit(9);
}
const args = process.argv.slice(2);
appendFileSync(join(state, 'calls.jsonl'), JSON.stringify(args) + '\n');

const file = (name) => join(state, name);
const load = (name, fallback) => (existsSync(file(name)) ? JSON.parse(readFileSync(file(name), 'utf8')) : fallback);
const save = (name, value) => writeFileSync(file(name), JSON.stringify(value, null, 2));

// `--config FILE` may come anywhere; the rest is the command.
const configAt = args.indexOf('--config');
const config = configAt >= 0 ? args[configAt + 1] : 'wrangler.toml';
const cmd = args.filter((_, i) => configAt < 0 || (i !== configAt && i !== configAt + 1));
const worker = (readFileSync(config, 'utf8').match(/^name\s*=\s*"([^"]+)"/m) || [])[1] || 'worker';
const is = (...words) => words.every((w, i) => cmd[i] === w);

if (is('whoami')) {
  if (existsSync(file('logged-out'))) {
    console.log('You are not authenticated. Please run `wrangler login`.');
    process.exit(1);
  }
  console.log('Getting User settings...\n👋 You are logged in with an API Token, associated with the email ops@example.com.');
} else if (is('d1', 'list')) {
  console.log(JSON.stringify(load('d1.json', []), null, 2));
} else if (is('d1', 'create')) {
  const dbs = load('d1.json', []);
  const db = { uuid: randomUUID(), name: cmd[2], created_at: new Date().toISOString(), version: 'production' };
  dbs.push(db);
  save('d1.json', dbs);
  console.log(`✅ Successfully created DB '${db.name}' in region WEUR\nCreated your new D1 database.\n\n[[d1_databases]]\nbinding = "${db.name}"\ndatabase_name = "${db.name}"\ndatabase_id = "${db.uuid}"`);
} else if (is('kv', 'namespace', 'list')) {
  console.log(JSON.stringify(load('kv.json', []), null, 2));
} else if (is('kv', 'namespace', 'create')) {
  const namespaces = load('kv.json', []);
  if (namespaces.some((n) => n.title === cmd[3])) {
    console.error(`✘ [ERROR] A KV namespace with the title "${cmd[3]}" already exists.`);
    process.exit(1);
  }
  const ns = { id: randomBytes(16).toString('hex'), title: cmd[3], supports_url_encoding: true };
  namespaces.push(ns);
  save('kv.json', namespaces);
  console.log(`🌀 Creating namespace with title "${ns.title}"\n✨ Success!\n\n[[kv_namespaces]]\nbinding = "${ns.title}"\nid = "${ns.id}"`);
} else if (is('d1', 'migrations', 'apply')) {
  console.log('Migrations to be applied: ...\n✅ Applied');
} else if (is('secret', 'list')) {
  if (!existsSync(file('deployed'))) {
    console.error(`✘ [ERROR] Worker "${worker}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`);
    process.exit(1);
  }
  console.log(JSON.stringify(Object.keys(load('secrets.json', {})).map((name) => ({ name, type: 'secret_text' })), null, 2));
} else if (is('deploy')) {
  const at = cmd.indexOf('--secrets-file');
  if (at >= 0) {
    const uploaded = JSON.parse(readFileSync(cmd[at + 1], 'utf8'));
    appendFileSync(file('uploads.jsonl'), JSON.stringify(uploaded) + '\n');
    save('secrets.json', { ...load('secrets.json', {}), ...uploaded });
  }
  writeFileSync(file('deployed'), '');
  console.log(`Uploaded ${worker}\nDeployed ${worker} triggers\n  https://${worker}.example.workers.dev`);
} else {
  console.error(`fake wrangler: unexpected command: ${args.join(' ')}`);
  process.exit(9);
}

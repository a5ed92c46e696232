// Applies the D1 migrations to a miniflare D1 database (bench/run.mjs and
// bench/source_worker.mjs).

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Applies migrations/*.sql in file-name order, statement by statement (D1's exec() takes one
 * statement per line, which SQL files written for `wrangler d1 migrations apply` are not).
 */
export async function applyMigrations(db) {
  const dir = path.join(ROOT, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  for (const f of files) {
    for (const stmt of splitSql(readFileSync(path.join(dir, f), "utf8"))) {
      try {
        await db.prepare(stmt).run();
      } catch (e) {
        throw new Error(`${f}: ${e.message}\n${stmt}`);
      }
    }
  }
  return files;
}

/**
 * Splits SQL into statements without comments. Knows about quoted strings and identifiers, `--`
 * and block comments, and BEGIN ... END / CASE ... END blocks (trigger bodies hold semicolons).
 */
function splitSql(sql) {
  const statements = [];
  let current = "";
  let depth = 0;
  let i = 0;
  const flush = () => {
    if (current.trim()) statements.push(current.trim());
    current = "";
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      current += " ";
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      // Quoted: copy through the closing quote (a doubled quote is an escaped one).
      const close = c === "[" ? "]" : c;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j])) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (word === "BEGIN" || word === "CASE") depth++;
      else if (word === "END" && depth > 0) depth--;
      current += sql.slice(i, j);
      i = j;
    } else if (c === ";" && depth === 0) {
      flush();
      i++;
    } else {
      current += c;
      i++;
    }
  }
  flush();
  return statements;
}


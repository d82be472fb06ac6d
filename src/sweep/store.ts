/**
 * A sweep's store: an SQLite file (better-sqlite3), one row per finished point, written as each
 * point completes, one transaction per point, in WAL mode with synchronous=FULL: a point whose
 * write returned survives Ctrl-C, a crash or a killed worker. A point is stored once: a second
 * result for the same study and key (a re-run after a stalled worker) is dropped.
 *
 *   studies(study PRIMARY KEY, file, source, points, ptlab_version)
 *   points(study, idx, key, axes, kind, scenario, input, result, ptlab_version, elapsed_ms, worker,
 *          PRIMARY KEY (study, key))
 */
import Database from 'better-sqlite3';

export const STORE_SCHEMA_VERSION = 1;

export interface StoredPoint {
  readonly study: string;
  readonly index: number;
  readonly key: string;
  readonly axes: Readonly<Record<string, string | number | boolean>>;
  readonly kind: 'sim' | 'compare' | 'check';
  /** JSON of the resolved scenario. */
  readonly scenario: string;
  /** JSON of the scenario as data, with the point's axes applied (a scenario the library runs as is). */
  readonly input: string;
  /** JSON of the result document. */
  readonly result: string;
  readonly ptlabVersion: string;
  readonly elapsedMs: number;
  /** Who ran it: `pool` or a queue worker's host:pid. */
  readonly worker: string;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export class Store {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;

  constructor(readonly path: string) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      const v = this.db.pragma('user_version', { simple: true }) as number;
      if (v !== 0 && v !== STORE_SCHEMA_VERSION) throw new StoreError(`${path}: a store of schema version ${v}; this ptlab writes version ${STORE_SCHEMA_VERSION}`);
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS studies (study TEXT PRIMARY KEY, file TEXT NOT NULL, source TEXT NOT NULL, points INTEGER NOT NULL, ptlab_version TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS points (
          study TEXT NOT NULL, idx INTEGER NOT NULL, key TEXT NOT NULL, axes TEXT NOT NULL, kind TEXT NOT NULL,
          scenario TEXT NOT NULL, input TEXT NOT NULL, result TEXT NOT NULL, ptlab_version TEXT NOT NULL,
          elapsed_ms REAL NOT NULL, worker TEXT NOT NULL,
          PRIMARY KEY (study, key));
      `);
      this.db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${path}: cannot open the store (${e instanceof Error ? e.message : String(e)})`);
    }
    this.insert = this.db.prepare(`INSERT INTO points (study, idx, key, axes, kind, scenario, input, result, ptlab_version, elapsed_ms, worker)
      VALUES (@study, @index, @key, @axes, @kind, @scenario, @input, @result, @ptlabVersion, @elapsedMs, @worker) ON CONFLICT (study, key) DO NOTHING`);
  }

  /** Record the study (its file and text); a store keeps each study's latest definition. */
  putStudy(study: string, file: string, source: string, points: number, ptlabVersion: string): void {
    this.db.prepare('INSERT INTO studies VALUES (?, ?, ?, ?, ?) ON CONFLICT (study) DO UPDATE SET file = excluded.file, source = excluded.source, points = excluded.points, ptlab_version = excluded.ptlab_version').run(study, file, source, points, ptlabVersion);
  }

  /** The keys of the study's stored points. */
  keys(study: string): Set<string> {
    return new Set((this.db.prepare('SELECT key FROM points WHERE study = ?').all(study) as Array<{ key: string }>).map((r) => r.key));
  }

  /** Store one point (its own transaction); false when the key was already stored. */
  put(p: StoredPoint): boolean {
    return this.insert.run({ ...p, axes: JSON.stringify(p.axes) }).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}

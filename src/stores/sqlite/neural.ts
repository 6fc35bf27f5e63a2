import type { StatementSync } from 'node:sqlite';
import type { NeuralPart, NeuralRecord } from '../types.js';
import type { Database } from './database.js';

/**
 * The neural layer's model: one row (id 1) holding the serialised model and its version.
 * A save is a compare-and-set on the version inside one transaction, so two trainers never
 * overwrite each other's step unseen.
 */
export class SqliteNeural implements NeuralPart {
  private readonly read: StatementSync;
  private readonly insert: StatementSync;
  private readonly update: StatementSync;

  constructor(private readonly database: Database) {
    database.schema(['CREATE TABLE IF NOT EXISTS neural_model (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, model TEXT NOT NULL)']);
    const db = database.db;
    this.read = db.prepare('SELECT version, model FROM neural_model WHERE id = 1');
    this.insert = db.prepare('INSERT OR IGNORE INTO neural_model (id, version, model) VALUES (1, 1, ?)');
    this.update = db.prepare('UPDATE neural_model SET version = version + 1, model = ? WHERE id = 1 AND version = ?');
  }

  async neuralLoad(): Promise<NeuralRecord | null> {
    const row = this.read.get() as { version: number; model: string } | undefined;
    return row ? { version: Number(row.version), model: row.model } : null;
  }

  async neuralSave(expected: number, model: string): Promise<boolean> {
    return this.database.transaction(() => Number((expected === 0 ? this.insert.run(model) : this.update.run(model, expected)).changes) === 1);
  }
}

import type { NeuralPart, NeuralRecord } from '../types.js';
import type { RedisClient } from './client.js';

type Run = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The neural layer's model on Redis: one hash P nn:model (v version, m model), so every MX
 * sharing the Redis scores with and trains one model. A save is a compare-and-set script on
 * the version, atomic on the server.
 */

/** KEYS: the hash. ARGV: the expected version, the model. Returns 1 when saved. */
const NEURAL_SAVE = `local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', v + 1, 'm', ARGV[2])
return 1`;

export const NEURAL_SCRIPTS = {
  bpNeuralSave: { numberOfKeys: 1, lua: NEURAL_SAVE },
} as const;

interface NeuralCommands {
  bpNeuralSave(key: string, expected: number, model: string): Promise<number>;
}

export class RedisNeural implements NeuralPart {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly run: Run,
  ) {}

  private get key(): string {
    return `${this.prefix}nn:model`;
  }

  async neuralLoad(): Promise<NeuralRecord | null> {
    return this.run('neural_load', async () => {
      const [v, m] = await this.client.hmget(this.key, 'v', 'm');
      return v && m !== null && m !== undefined ? { version: Number(v), model: m } : null;
    });
  }

  async neuralSave(expected: number, model: string): Promise<boolean> {
    // defineCommand (the `scripts` option) adds the method at run time; ioredis cannot type it.
    const cmd = this.client as unknown as NeuralCommands;
    return this.run('neural_save', async () => (await cmd.bpNeuralSave(this.key, expected, model)) === 1);
  }
}

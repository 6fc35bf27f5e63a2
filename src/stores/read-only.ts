import type { BayesClass, GreylistOptions, GreylistResult, LearnResult, RateLimiterSpec, Store } from './types.js';

/**
 * A view of a store that serves every read and turns every write into a no-op: what `scan`
 * and `/checkv2` judge with, so scanning a message changes nothing a live transaction
 * would see (no greylist entry, no rate-limit count, no history line, no Bayes or neural training, no remembered reply id).
 *
 * Greylisting cannot defer what it cannot record (the retry would be deferred again for
 * ever), so the view answers every triplet as already passed: a scan shows the verdict a
 * message gets once greylisting let it through. Rate limits read their counters (see
 * checks/ratelimit: a read-only store makes them peek instead of count).
 */
class ReadOnlyStore implements Store {
  readonly readOnly = true;
  constructor(private readonly inner: Store) {}

  get kind(): Store['kind'] {
    return this.inner.kind;
  }

  greylistCheck(_group: string, _id: string, _options: GreylistOptions): Promise<GreylistResult> {
    return Promise.resolve({ state: 'known', retryAfter: 0 });
  }
  greylistConfirm(): Promise<boolean> {
    return Promise.resolve(false);
  }
  greylistList(match: string, limit: number) {
    return this.inner.greylistList(match, limit);
  }
  greylistRelease(): Promise<boolean> {
    return Promise.resolve(false);
  }
  async counterIncrement(key: string): Promise<number> {
    return (await this.inner.counterGet(key)) + 1;
  }
  counterGet(key: string): Promise<number> {
    return this.inner.counterGet(key);
  }
  bayesGetTokens(tokens: readonly string[]) {
    return this.inner.bayesGetTokens(tokens);
  }
  bayesTotals() {
    return this.inner.bayesTotals();
  }
  bayesLearn(_digest: string, _tokens: readonly string[], _cls: BayesClass): Promise<LearnResult> {
    return Promise.resolve('already_learned');
  }
  fuzzyAdd(): Promise<void> {
    return Promise.resolve();
  }
  fuzzyDelete(): Promise<boolean> {
    return Promise.resolve(false);
  }
  fuzzyFind(shingles: readonly number[], minMatched: number) {
    return this.inner.fuzzyFind(shingles, minMatched);
  }
  fuzzyAny(): boolean {
    // Without the upkeep that writes (see Store.fuzzyAny): a scan changes nothing.
    return this.inner.fuzzyAny({ upkeep: false });
  }
  neuralLoad() {
    return this.inner.neuralLoad();
  }
  neuralSave(): Promise<boolean> {
    return Promise.resolve(false);
  }
  replyRemember(): Promise<void> {
    return Promise.resolve();
  }
  replyKnown(ids: readonly string[]) {
    return this.inner.replyKnown(ids);
  }
  historyPush(): Promise<void> {
    return Promise.resolve();
  }
  historyRead(limit: number) {
    return this.inner.historyRead(limit);
  }
  rateLimiter(spec: RateLimiterSpec) {
    return this.inner.rateLimiter(spec);
  }
  roundTrips(): number {
    return this.inner.roundTrips();
  }
  ready(): Promise<void> {
    return this.inner.ready();
  }
  /** The view does not own the store: whoever opened it closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function readOnlyView(store: Store): Store {
  return isReadOnly(store) ? store : new ReadOnlyStore(store);
}

export function isReadOnly(store: Store): boolean {
  return (store as { readOnly?: unknown }).readOnly === true;
}

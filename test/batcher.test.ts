import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher } from '../src/infra/batcher.ts';

/** A run function that records its batches and answers each item doubled, after `delayMs`. */
function doubling(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (items: number[]): Promise<PromiseSettledResult<number>[]> => {
    batches.push(items);
    await new Promise((r) => setTimeout(r, delayMs));
    return items.map((value) => ({ status: 'fulfilled', value: value * 2 }));
  };
  return { batches, run };
}

describe('Batcher (group commit)', () => {
  it('runs items submitted in one turn of the event loop as one batch and gives each caller its own result', async () => {
    const { batches, run } = doubling();
    const batcher = new Batcher(run, { maxBatch: 64, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
    assert.deepEqual(batches, [[1, 2, 3, 4, 5]]);
  });

  it('with maxDelayMs, items submitted in different turns within the delay go together', async () => {
    const { batches, run } = doubling();
    const batcher = new Batcher(run, { maxBatch: 64, maxInFlight: 1, maxDelayMs: 50 });
    const first = batcher.submit(1);
    await new Promise((r) => setImmediate(r)); // a later turn, before any timer of this one can fire
    assert.deepEqual(await Promise.all([first, batcher.submit(2)]), [2, 4]);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('with maxDelayMs, a full batch starts without waiting for the delay', async () => {
    const { batches, run } = doubling();
    const batcher = new Batcher(run, { maxBatch: 3, maxInFlight: 1, maxDelayMs: 600_000 });
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => batcher.submit(n))), [2, 4, 6]);
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('runs a lone item at once, alone', async () => {
    const { batches, run } = doubling();
    const batcher = new Batcher(run, { maxBatch: 64, maxInFlight: 1 });
    assert.equal(await batcher.submit(7), 14);
    assert.equal(await batcher.submit(8), 16);
    assert.deepEqual(batches, [[7], [8]]);
  });

  it('collects what arrives while maxInFlight batches run into the next batch, in order, at most maxBatch at a time', async () => {
    const { batches, run } = doubling(30);
    const batcher = new Batcher(run, { maxBatch: 3, maxInFlight: 1 });
    const first = batcher.submit(1);
    await new Promise((r) => setTimeout(r, 5)); // the first batch is running now
    const later = [2, 3, 4, 5].map((n) => batcher.submit(n));
    assert.deepEqual(await Promise.all([first, ...later]), [2, 4, 6, 8, 10]);
    assert.deepEqual(batches, [[1], [2, 3, 4], [5]]);
  });

  it('never runs more than maxInFlight batches at once', async () => {
    let running = 0;
    let most = 0;
    const batcher = new Batcher(
      async (items: number[]) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 10));
        running -= 1;
        return items.map((value) => ({ status: 'fulfilled' as const, value }));
      },
      { maxBatch: 2, maxInFlight: 2 },
    );
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit(i)));
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(most, 2);
  });

  it('fails only the items whose own result failed', async () => {
    const batcher = new Batcher(
      async (items: number[]) => items.map((n): PromiseSettledResult<number> => (n % 2 ? { status: 'rejected', reason: new Error(`odd ${n}`) } : { status: 'fulfilled', value: n })),
      { maxBatch: 64, maxInFlight: 1 },
    );
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
      ['odd 1', 2, 'odd 3', 4],
    );
  });

  it('fails every item of a batch whose run failed, and goes on with the next batch', async () => {
    let calls = 0;
    const batcher = new Batcher(
      async (items: number[]) => {
        calls += 1;
        if (calls === 1) throw new Error('connection lost');
        return items.map((value) => ({ status: 'fulfilled' as const, value }));
      },
      { maxBatch: 64, maxInFlight: 1 },
    );
    const settled = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'rejected']);
    assert.equal(await batcher.submit(4), 4);
  });

  it('fails every item when run answers a wrong number of results', async () => {
    const batcher = new Batcher(async () => [{ status: 'fulfilled' as const, value: 1 }], { maxBatch: 64, maxInFlight: 1 });
    const settled = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected']);
    assert.match(String((settled[0] as PromiseRejectedResult).reason), /a batch of 2 answered 1 results/);
  });
});

/** Tuning of a Batcher. */
export interface BatcherOptions {
  /** most items in one call of `run` */
  maxBatch: number;
  /** most calls of `run` at once; items submitted meanwhile wait for the next call */
  maxInFlight: number;
  /** when set, a call waits up to this long for more items (it starts at once when `maxBatch` are waiting) */
  maxDelayMs?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit: concurrent `submit` calls share one call of `run`. Items submitted in one turn of the
 * event loop, or while `maxInFlight` calls are running, go together into the next call, so under load
 * batches grow by themselves and at low load each item runs at once, alone: no timer adds latency.
 * `run` answers one settled result per item, in order, so one bad item fails only its own caller.
 */
export class Batcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<PromiseSettledResult<O>[]>,
    private readonly options: BatcherOptions,
  ) {}

  /** Queues one item for the next call of `run` and resolves with its own result. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a call of `run` now for the items waiting (within `maxInFlight`), without waiting for `maxDelayMs`. */
  hurry(): void {
    this.flush();
  }

  private schedule(): void {
    if (this.options.maxDelayMs && this.waiting.length >= this.options.maxBatch) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    // After the I/O callbacks of this turn: the requests parsed together are written together.
    if (this.options.maxDelayMs) setTimeout(run, this.options.maxDelayMs);
    else setImmediate(run);
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.runBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }

  private async runBatch(batch: Waiting<I, O>[]): Promise<void> {
    let results: PromiseSettledResult<O>[];
    try {
      results = await this.run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') batch[i]!.resolve(result.value);
      else batch[i]!.reject(result.reason);
    });
  }
}

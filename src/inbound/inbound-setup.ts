import type pg from 'pg';
import type { Config } from '../config.ts';
import { InboundService } from '../core/inbound.ts';
import type { TokenSigner } from '../core/tokens.ts';
import type { Logger } from '../log.ts';
import { countInbound } from './inbound-metrics.ts';

/** The inbound core with this configuration's soft bounce thresholds, counting into the metrics. */
export function createInboundService(config: Config, pool: pg.Pool, signer: TokenSigner, log: Logger): InboundService {
  const settings = { limit: config.SOFT_BOUNCE_LIMIT, windowDays: config.SOFT_BOUNCE_WINDOW_DAYS };
  return new InboundService(pool, signer, settings, log.child({ component: 'inbound' }), countInbound);
}

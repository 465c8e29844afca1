-- Daily and weekly digests (docs/digests.md): each subscriber's frequency, the digest runs, which
-- article went into which run, and the digest ledger (one row per subscriber and run).

ALTER TABLE subscribers ADD COLUMN frequency text NOT NULL DEFAULT 'immediate'
  CHECK (frequency IN ('immediate', 'daily', 'weekly'));
-- When the frequency last changed: a digest lists only articles recorded after it (and after confirmation),
-- so switching never sends an article twice (once alone, once in a digest) or in two digests.
ALTER TABLE subscribers ADD COLUMN frequency_since timestamptz NOT NULL DEFAULT '-infinity';

-- Digest fan-out reads the subscribers of one frequency in id order.
CREATE INDEX subscribers_digest_idx ON subscribers (frequency, id) WHERE status = 'active' AND frequency <> 'immediate';

CREATE TABLE digest_runs (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  frequency      text NOT NULL CHECK (frequency IN ('daily', 'weekly')),
  -- the schedule's slot (local date of the scheduled time); NULL for an operator's run. One run per slot:
  -- a scheduler firing twice (DST fall-back, a retried job, several worker processes) creates one run.
  slot           text CHECK (slot ~ '^\d{4}-\d{2}-\d{2}$'),
  scheduled_for  timestamptz,
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  -- the previous run's period_end (NULL for the first run of a frequency)
  period_start   timestamptz,
  period_end     timestamptz NOT NULL DEFAULT now(),
  articles       integer NOT NULL DEFAULT 0,
  fanout_status  text NOT NULL DEFAULT 'pending' CHECK (fanout_status IN ('pending', 'running', 'done')),
  fanout_cursor  bigint NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  fanout_done_at timestamptz,
  -- set once the fan-out is done and no delivery of the run is pending any more
  finished_at    timestamptz,
  UNIQUE (frequency, slot)
);

CREATE INDEX digest_runs_recent_idx ON digest_runs (frequency, id DESC);
CREATE INDEX digest_runs_unfinished_idx ON digest_runs (id) WHERE fanout_status <> 'done';

-- Which run of a frequency an article went into. The primary key puts each article in exactly one run
-- per frequency: an article committed while a run is being created goes into this run or the next one.
CREATE TABLE digest_run_articles (
  frequency  text NOT NULL,
  article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  run_id     bigint NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
  PRIMARY KEY (frequency, article_id)
);

CREATE INDEX digest_run_articles_run_idx ON digest_run_articles (run_id, article_id);

-- The digest ledger: the same claim/lease/record design as deliveries (migration 0003).
CREATE TABLE digest_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id        bigint NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
  subscriber_id bigint REFERENCES subscribers (id) ON DELETE SET NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  claimed_by    text,
  claimed_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  UNIQUE (run_id, subscriber_id)
);

CREATE INDEX digest_deliveries_pending_idx ON digest_deliveries (run_id, id) WHERE status = 'pending';

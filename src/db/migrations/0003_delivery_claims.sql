-- Delivery claims: a send job claims its pending deliveries before sending, so two jobs covering the
-- same deliveries (a reconciler re-enqueue racing a live job) never both send. A retry of the same job
-- id may re-claim; another job may take over only after the lease expired.

ALTER TABLE deliveries ADD COLUMN claimed_by text;
ALTER TABLE deliveries ADD COLUMN claimed_at timestamptz;

-- Articles are listed newest first by publication date.
CREATE INDEX articles_published_idx ON articles (published_at DESC, id DESC);

-- The reconciler looks for fan-outs that did not finish.
CREATE INDEX articles_unfinished_fanout_idx ON articles (id) WHERE fanout_status IN ('pending', 'running');

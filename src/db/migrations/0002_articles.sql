-- Articles to notify about, and the delivery ledger: one row per (article, subscriber).

CREATE TABLE articles (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- idempotency key: the feed's or caller's guid, else the URL
  guid          text NOT NULL UNIQUE,
  url           text NOT NULL,
  title         text NOT NULL,
  summary       text,
  image_url     text,
  lang          text NOT NULL DEFAULT 'pl',
  source        text,
  topics        text[] NOT NULL,
  published_at  timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- false for items recorded without notifying (first feed poll, too old)
  notify        boolean NOT NULL DEFAULT true,
  -- fan-out progress: 'pending' → 'running' → 'done'; cursor = last subscriber id written
  fanout_status text NOT NULL DEFAULT 'pending' CHECK (fanout_status IN ('pending', 'running', 'done', 'skipped')),
  fanout_cursor bigint NOT NULL DEFAULT 0,
  fanout_done_at timestamptz
);

CREATE INDEX articles_created_idx ON articles (created_at DESC, id DESC);

CREATE TABLE deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  article_id    bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  -- NULL once the subscriber was erased; the row stays for the article's counts
  subscriber_id bigint REFERENCES subscribers (id) ON DELETE SET NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  UNIQUE (article_id, subscriber_id)
);

CREATE INDEX deliveries_pending_idx ON deliveries (article_id, id) WHERE status = 'pending';
CREATE INDEX deliveries_updated_idx ON deliveries (updated_at);

CREATE TABLE feeds (
  url            text PRIMARY KEY,
  topic          text,
  etag           text,
  last_modified  text,
  first_poll_at  timestamptz,
  last_poll_at   timestamptz,
  last_ok_at     timestamptz,
  last_error     text
);

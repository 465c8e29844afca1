-- "Send me my management link" requests (GET/POST /manage, POST /api/manage-link). The HTTP request only
-- inserts a row and queues a job with its id, so the answer costs the same whether or not the address is
-- known; the e-mail worker resolves the row later. The address is cleared as soon as the row is resolved
-- and unresolved rows are deleted with the expired opt-ins, so no address stays here for long.
CREATE TABLE manage_link_requests (
  id            bigserial PRIMARY KEY,
  email         text,
  lang          text NOT NULL DEFAULT 'pl' CHECK (lang IN ('pl', 'en')),
  requested_at  timestamptz NOT NULL DEFAULT now(),
  -- set once by the worker: 'send' (a slot of the per-address cap was claimed), 'unknown', 'capped'
  outcome       text CHECK (outcome IN ('send', 'unknown', 'capped', 'suppressed')),
  subscriber_id bigint REFERENCES subscribers (id) ON DELETE CASCADE
);

CREATE INDEX manage_link_requests_requested_at ON manage_link_requests (requested_at);

-- An article is the same when its guid or its canonical URL matches (the office's markdown through the
-- CLI and the same article as JSON through the API carry different guids). Rows written before this
-- migration have none and are matched by guid only.
ALTER TABLE articles ADD COLUMN canonical_url text;
CREATE UNIQUE INDEX articles_canonical_url_key ON articles (canonical_url) WHERE canonical_url IS NOT NULL;

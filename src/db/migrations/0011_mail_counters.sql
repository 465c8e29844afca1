-- Counters for the operators' console, so its pages read a few hundred rows instead of counting the
-- delivery ledger (1.25 million rows in the console bench) at request time:
--   mail_outcomes_hourly     e-mails by kind and outcome per hour (transactional ones written by the e-mail
--                            worker; notifications and digests by the triggers below, deferrals by note-*-deferred)
--   article_delivery_counts  each article's deliveries per status, kept exact by statement-level triggers
--                            on deliveries (one grouped upsert per statement, never one per row)

CREATE TABLE mail_outcomes_hourly (
  -- the UTC hour of the outcome (date_trunc('hour', now())); "today" in Warsaw is a whole number of hours
  hour    timestamptz NOT NULL,
  kind    text NOT NULL CHECK (kind IN ('confirmation', 'already-subscribed', 'welcome', 'manage-link', 'notification', 'digest')),
  outcome text NOT NULL CHECK (outcome IN ('sent', 'failed', 'deferred', 'suppressed')),
  count   bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (hour, kind, outcome)
);

CREATE TABLE article_delivery_counts (
  article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  status     text NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (article_id, status)
);

-- Adds $3 outcomes of kind $1, outcome $2 to the current hour. Upserts in (kind, outcome) order so two
-- statements never wait on each other's rows in opposite orders.
CREATE FUNCTION powiadom_count_mail(p_kind text, p_outcome text, p_count bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO mail_outcomes_hourly AS m (hour, kind, outcome, count)
  SELECT date_trunc('hour', now()), p_kind, p_outcome, p_count WHERE p_count > 0
  ON CONFLICT (hour, kind, outcome) DO UPDATE SET count = m.count + EXCLUDED.count;
$$;

-- New ledger rows: counted per article and status; rows written already final (not pending) are outcomes.
CREATE FUNCTION deliveries_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO article_delivery_counts AS c (article_id, status, count)
  SELECT article_id, status, count(*) FROM new_rows GROUP BY article_id, status ORDER BY article_id, status
  ON CONFLICT (article_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
  PERFORM powiadom_count_mail('notification', status, count(*)) FROM new_rows WHERE status <> 'pending' GROUP BY status ORDER BY status;
  RETURN NULL;
END $$;

-- Status changes: moved between the article's counters; a change into a final status is an outcome. Claims
-- and notes (status unchanged) join to nothing and write nothing.
CREATE FUNCTION deliveries_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO article_delivery_counts AS c (article_id, status, count)
  SELECT n.article_id, v.status, sum(v.delta)
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  CROSS JOIN LATERAL (VALUES (o.status, -1), (n.status, 1)) AS v(status, delta)
  WHERE o.status <> n.status
  GROUP BY n.article_id, v.status HAVING sum(v.delta) <> 0 ORDER BY n.article_id, v.status
  ON CONFLICT (article_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
  IF FOUND THEN
    PERFORM powiadom_count_mail('notification', n.status, count(*))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.status <> n.status AND n.status <> 'pending'
    GROUP BY n.status ORDER BY n.status;
  END IF;
  RETURN NULL;
END $$;

-- Deleted rows (only by deleting their article): its counter rows go with it, so only surviving ones change.
CREATE FUNCTION deliveries_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE article_delivery_counts c SET count = c.count - d.n
  FROM (SELECT article_id, status, count(*) AS n FROM old_rows GROUP BY article_id, status ORDER BY article_id, status) d
  WHERE c.article_id = d.article_id AND c.status = d.status;
  RETURN NULL;
END $$;

-- Digest ledger: a change into a final status is a digest outcome.
CREATE FUNCTION digest_deliveries_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM powiadom_count_mail('digest', n.status, count(*))
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  WHERE o.status <> n.status AND n.status <> 'pending'
  GROUP BY n.status ORDER BY n.status;
  RETURN NULL;
END $$;

-- DANGER: no ledger write may slip between the backfill and the triggers, or the counters drift for good;
-- this lock (taken for the migration's transaction) holds writers back until both exist.
LOCK TABLE deliveries, digest_deliveries IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO article_delivery_counts (article_id, status, count)
SELECT article_id, status, count(*) FROM deliveries GROUP BY article_id, status;

-- The last 7 days of notification and digest outcomes, from the ledgers' last change.
INSERT INTO mail_outcomes_hourly (hour, kind, outcome, count)
SELECT date_trunc('hour', updated_at), 'notification', status, count(*) FROM deliveries
WHERE status <> 'pending' AND updated_at > now() - interval '8 days' GROUP BY 1, 3
UNION ALL
SELECT date_trunc('hour', updated_at), 'digest', status, count(*) FROM digest_deliveries
WHERE status <> 'pending' AND updated_at > now() - interval '8 days' GROUP BY 1, 3;

CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_insert();
CREATE TRIGGER deliveries_counted_update AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_update();
CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_delete();
CREATE TRIGGER digest_deliveries_counted_update AFTER UPDATE ON digest_deliveries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION digest_deliveries_counted_update();

-- An article's failures grouped by reason (/admin/articles/:id) without reading its whole ledger; only failed
-- rows enter it, so the send path pays for it only on failures.
CREATE INDEX deliveries_failed_idx ON deliveries (article_id, id) WHERE status = 'failed';

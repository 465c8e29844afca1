-- Counters of subscribers, so the console's overview and sections pages, the operations API and the
-- Prometheus gauges read a few hundred rows instead of counting every subscriber per request
-- (100,000 in the console bench):
--   subscriber_counts          subscribers per status (topic_slug = '') and per section and status
--                              (subscriber_topics joined to the subscriber's status), kept exact by triggers
--   subscriber_changes_hourly  sign-ups, confirmations and unsubscriptions per hour
-- Both are split into 16 shards by the writing connection (pg_backend_pid() % 16): sign-ups arriving on
-- different connections add to different rows, so they never queue behind one hot counter row until the
-- other transaction commits. Readers sum the shards. Within a statement rows are upserted in key order, so
-- two writers of one shard never take the same rows in opposite orders.

CREATE TABLE subscriber_counts (
  -- '' = every subscriber; otherwise those who chose this section. No foreign key: deleting a section
  -- cascades to subscriber_topics, whose trigger below brings its counts to 0 after the section is gone.
  topic_slug text NOT NULL,
  status     text NOT NULL,
  shard      smallint NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (topic_slug, status, shard)
);

CREATE TABLE subscriber_changes_hourly (
  -- the UTC hour of the change; "today" in Warsaw is a whole number of hours
  hour   timestamptz NOT NULL,
  change text NOT NULL CHECK (change IN ('new', 'confirmed', 'unsubscribed')),
  shard  smallint NOT NULL,
  count  bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (hour, change, shard)
);

-- The counter shard this connection writes to.
CREATE FUNCTION powiadom_counter_shard() RETURNS smallint LANGUAGE sql STABLE AS $$
  SELECT (pg_backend_pid() % 16)::smallint;
$$;

-- Adds the rows of a statement's changes to the hour's counters: inserted rows are new (and confirmed or
-- unsubscribed when they arrive so, as imports do); a status change to active is a confirmation, to
-- unsubscribed an unsubscription.
CREATE FUNCTION powiadom_count_subscriber_changes(p_changes text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO subscriber_changes_hourly AS h (hour, change, shard, count)
  SELECT date_trunc('hour', now()), c, powiadom_counter_shard(), count(*)
  FROM unnest(p_changes) AS c GROUP BY c ORDER BY c
  ON CONFLICT (hour, change, shard) DO UPDATE SET count = h.count + EXCLUDED.count;
$$;

-- New subscribers: counted by status, and as changes.
CREATE FUNCTION subscribers_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT '', status, powiadom_counter_shard(), count(*) FROM new_rows GROUP BY status ORDER BY status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  PERFORM powiadom_count_subscriber_changes(array_agg(v.change))
  FROM new_rows n CROSS JOIN LATERAL (VALUES ('new'), (CASE n.status WHEN 'active' THEN 'confirmed' WHEN 'unsubscribed' THEN 'unsubscribed' END)) AS v(change)
  WHERE v.change IS NOT NULL;
  RETURN NULL;
END $$;

-- Status changes: moved between the status counters, for the subscriber and each of their sections.
-- Updates that keep the status (language, timestamps, the confirmation-mail cap) join to nothing.
CREATE FUNCTION subscribers_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH moved AS (
    SELECT n.id, o.status AS old_status, n.status AS new_status
    FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status <> n.status
  ), deltas AS (
    SELECT '' AS topic_slug, old_status AS status, -1 AS delta FROM moved
    UNION ALL SELECT '', new_status, 1 FROM moved
    UNION ALL SELECT st.topic_slug, m.old_status, -1 FROM moved m JOIN subscriber_topics st ON st.subscriber_id = m.id
    UNION ALL SELECT st.topic_slug, m.new_status, 1 FROM moved m JOIN subscriber_topics st ON st.subscriber_id = m.id
  )
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT topic_slug, status, powiadom_counter_shard(), sum(delta) FROM deltas
  GROUP BY topic_slug, status HAVING sum(delta) <> 0 ORDER BY topic_slug, status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  IF FOUND THEN
    PERFORM powiadom_count_subscriber_changes(array_agg(CASE n.status WHEN 'active' THEN 'confirmed' ELSE 'unsubscribed' END))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.status <> n.status AND n.status IN ('active', 'unsubscribed')
    HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

-- A deleted subscriber (erasure, expired sign-up): their sections are uncounted row by row BEFORE the
-- delete, because ON DELETE CASCADE removes their subscriber_topics afterwards, when nothing tells their
-- status any more (the subscriber_topics trigger then finds no subscriber and skips those rows).
CREATE FUNCTION subscriber_deleted_uncount_sections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT topic_slug, OLD.status, powiadom_counter_shard(), -1 FROM subscriber_topics
  WHERE subscriber_id = OLD.id ORDER BY topic_slug
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN OLD;
END $$;

-- Deleted subscribers: uncounted from their status.
CREATE FUNCTION subscribers_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT '', status, powiadom_counter_shard(), -count(*) FROM old_rows GROUP BY status ORDER BY status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

-- Sections chosen or dropped: counted under the subscriber's current status.
CREATE FUNCTION subscriber_topics_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT n.topic_slug, s.status, powiadom_counter_shard(), count(*)
  FROM new_rows n JOIN subscribers s ON s.id = n.subscriber_id
  GROUP BY n.topic_slug, s.status ORDER BY n.topic_slug, s.status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

CREATE FUNCTION subscriber_topics_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT o.topic_slug, s.status, powiadom_counter_shard(), -count(*)
  FROM old_rows o JOIN subscribers s ON s.id = o.subscriber_id
  GROUP BY o.topic_slug, s.status ORDER BY o.topic_slug, s.status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

-- Both columns of subscriber_topics are its key and nothing updates them; should anything do so, the
-- counters follow (old rows out, new rows in).
CREATE FUNCTION subscriber_topics_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH deltas AS (
    SELECT o.topic_slug, s.status, -1 AS delta FROM old_rows o JOIN subscribers s ON s.id = o.subscriber_id
    UNION ALL SELECT n.topic_slug, s.status, 1 FROM new_rows n JOIN subscribers s ON s.id = n.subscriber_id
  )
  INSERT INTO subscriber_counts AS c (topic_slug, status, shard, count)
  SELECT topic_slug, status, powiadom_counter_shard(), sum(delta) FROM deltas
  GROUP BY topic_slug, status HAVING sum(delta) <> 0 ORDER BY topic_slug, status
  ON CONFLICT (topic_slug, status, shard) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;

-- DANGER: no subscriber or section change may slip between the backfill and the triggers, or the counters
-- drift for good; this lock (held for the migration's transaction) holds writers back until both exist.
LOCK TABLE subscribers, subscriber_topics IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO subscriber_counts (topic_slug, status, shard, count)
SELECT '', status, 0, count(*) FROM subscribers GROUP BY status
UNION ALL
SELECT st.topic_slug, s.status, 0, count(*) FROM subscriber_topics st JOIN subscribers s ON s.id = st.subscriber_id
GROUP BY st.topic_slug, s.status;

-- The last 8 days of changes, from the subscribers' timestamps (the latest confirmation or unsubscription
-- of each; earlier ones in the window are not recorded anywhere).
INSERT INTO subscriber_changes_hourly (hour, change, shard, count)
SELECT date_trunc('hour', created_at), 'new', 0, count(*) FROM subscribers WHERE created_at > now() - interval '8 days' GROUP BY 1
UNION ALL
SELECT date_trunc('hour', confirmed_at), 'confirmed', 0, count(*) FROM subscribers WHERE confirmed_at > now() - interval '8 days' GROUP BY 1
UNION ALL
SELECT date_trunc('hour', unsubscribed_at), 'unsubscribed', 0, count(*) FROM subscribers WHERE unsubscribed_at > now() - interval '8 days' GROUP BY 1;

CREATE TRIGGER subscribers_counted_insert AFTER INSERT ON subscribers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subscribers_counted_insert();
CREATE TRIGGER subscribers_counted_update AFTER UPDATE ON subscribers
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subscribers_counted_update();
CREATE TRIGGER subscribers_counted_delete AFTER DELETE ON subscribers
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION subscribers_counted_delete();
CREATE TRIGGER subscriber_deleted_uncount_sections BEFORE DELETE ON subscribers
  FOR EACH ROW EXECUTE FUNCTION subscriber_deleted_uncount_sections();
CREATE TRIGGER subscriber_topics_counted_insert AFTER INSERT ON subscriber_topics
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subscriber_topics_counted_insert();
CREATE TRIGGER subscriber_topics_counted_delete AFTER DELETE ON subscriber_topics
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION subscriber_topics_counted_delete();
CREATE TRIGGER subscriber_topics_counted_update AFTER UPDATE ON subscriber_topics
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION subscriber_topics_counted_update();

-- Erasures today and in 7 days (the overview) without reading every suppression.
CREATE INDEX suppressions_erased_idx ON suppressions (created_at) WHERE reason = 'erased';

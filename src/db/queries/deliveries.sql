-- THE LEDGER INVARIANT, followed by both delivery ledgers: `deliveries` (this file: one row per article and
-- subscriber) and `digest_deliveries` (digests.sql: one row per digest run and subscriber). Their claim,
-- record and orphan queries are the same statements on the two tables; a change to one is made to the other.
--   1. Birth: the fan-out writes each row once as 'pending' (ON CONFLICT DO NOTHING on the unique pair), so a
--      resumed or repeated fan-out never writes a second row.
--   2. Claim: a send job claims pending rows of its id range (claimed_by = job id, claimed_at, attempts + 1);
--      the same job id may claim again (its own retry after a crash), another job only after the lease. The
--      subscriber is re-checked in the same statement (`deliverable`): nobody who left or is suppressed is sent.
--   3. Record: every outcome is written only WHERE status = 'pending', so a row leaves 'pending' once: 'sent'
--      (sent_at, error and claim cleared), 'failed' or 'suppressed' (with the reason). A deferral (4xx) only
--      notes the reason; the row stays pending and claimed for the job's retry. Only a later bounce
--      (inbound.sql) may turn 'sent' into 'failed'.
--   4. Orphans: pending rows no live send job covers, unclaimed within the lease and older than a grace period,
--      are queued again by the reconciler in id chunks; the claim (2) keeps two jobs from sending one row.

-- name: start-fanout
-- Marks an article's fan-out running; returns its topics and cursor, or nothing when it is done, skipped or silent.
UPDATE articles SET fanout_status = 'running'
WHERE id = $1 AND notify AND fanout_status IN ('pending', 'running')
RETURNING id, topics, fanout_cursor;

-- name: write-fanout-page
-- One keyset page of the fan-out ($1 article, $2 cursor = last subscriber id scanned, $3 topics, $4 page size):
-- takes the next $4 subscriber ids by primary key (cheap whatever the statistics say), writes a pending
-- delivery for each active, unsuppressed subscriber of the topics who gets articles one by one (the unique constraint makes a rerun
-- harmless) and moves the cursor in the same statement, so a killed fan-out resumes exactly here.
WITH span AS MATERIALIZED (
  SELECT id FROM subscribers WHERE id > $2 ORDER BY id LIMIT $4
), page AS (
  SELECT s.id FROM span JOIN subscribers s ON s.id = span.id
  WHERE s.status = 'active'
    -- digest readers (migration 0009) get the article in their digest, unless it was recorded before they switched
    AND (s.frequency = 'immediate' OR s.frequency_since > (SELECT created_at FROM articles WHERE id = $1))
    AND EXISTS (SELECT 1 FROM subscriber_topics st WHERE st.subscriber_id = s.id AND st.topic_slug = ANY ($3::text[]))
    AND NOT EXISTS (SELECT 1 FROM suppressions x
                    WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex') AND x.reason <> 'erased')
), written AS (
  INSERT INTO deliveries (article_id, subscriber_id)
  SELECT $1, id FROM page ORDER BY id
  ON CONFLICT (article_id, subscriber_id) DO NOTHING
  RETURNING id
), moved AS (
  UPDATE articles SET fanout_cursor = coalesce((SELECT max(id) FROM span), fanout_cursor)
  WHERE id = $1
  RETURNING fanout_cursor
)
SELECT (SELECT count(*) FROM span)::int AS scanned,
       (SELECT fanout_cursor FROM moved) AS cursor,
       (SELECT count(*) FROM written)::int AS written,
       (SELECT min(id) FROM written) AS from_id,
       (SELECT max(id) FROM written) AS to_id;

-- name: finish-fanout
-- Marks an article's fan-out done.
UPDATE articles SET fanout_status = 'done', fanout_done_at = now() WHERE id = $1 AND fanout_status = 'running';

-- name: claim-deliveries
-- Claims the pending deliveries of a send job ($1 article, $2..$3 delivery id range, $4 job id, $5 lease seconds)
-- and returns them with their subscribers, re-checked now: still active, still subscribed to one of the
-- article's topics, not suppressed. The same job id may re-claim (its own retry); another only after the lease
-- (ledger invariant 2, above).
WITH claimed AS (
  UPDATE deliveries d SET claimed_by = $4, claimed_at = now(), attempts = d.attempts + 1, updated_at = now()
  WHERE d.article_id = $1 AND d.id BETWEEN $2 AND $3 AND d.status = 'pending'
    AND (d.claimed_by IS NULL OR d.claimed_by = $4 OR d.claimed_at < now() - make_interval(secs => $5))
  RETURNING d.id, d.subscriber_id
)
SELECT c.id, s.id AS subscriber_id, s.email, s.lang, s.token_version,
       (s.id IS NOT NULL AND s.status = 'active'
        AND EXISTS (SELECT 1 FROM subscriber_topics st WHERE st.subscriber_id = s.id AND st.topic_slug = ANY (a.topics))
        AND NOT EXISTS (SELECT 1 FROM suppressions x
                        WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex') AND x.reason <> 'erased')
       ) AS deliverable
FROM claimed c
JOIN articles a ON a.id = $1
LEFT JOIN subscribers s ON s.id = c.subscriber_id
ORDER BY c.id;

-- name: mark-sent
-- Records accepted messages ($1 delivery ids).
UPDATE deliveries SET status = 'sent', sent_at = now(), updated_at = now(), last_error = NULL, claimed_by = NULL
WHERE id = ANY ($1::bigint[]) AND status = 'pending';

-- name: mark-finished
-- Records final outcomes other than sent ($1 ids, $2 statuses 'failed'|'suppressed', $3 reasons).
UPDATE deliveries d SET status = u.status, last_error = u.reason, updated_at = now(), claimed_by = NULL
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, status, reason)
WHERE d.id = u.id AND d.status = 'pending';

-- name: note-deferred
-- Records why pending deliveries were not sent yet ($1 ids, $2 reasons); they stay pending and claimed. Counts them as
-- 'notification' 'deferred' outcomes of this hour (mail_outcomes_hourly, migration 0011).
WITH noted AS (
  UPDATE deliveries d SET last_error = u.reason, updated_at = now()
  FROM unnest($1::bigint[], $2::text[]) AS u(id, reason)
  WHERE d.id = u.id AND d.status = 'pending'
  RETURNING d.id
)
SELECT powiadom_count_mail('notification', 'deferred', (SELECT count(*) FROM noted));

-- name: list-unfinished-fanouts
-- Articles whose fan-out has not finished ($1 limit): the reconciler resumes them.
SELECT id FROM articles WHERE notify AND fanout_status IN ('pending', 'running') ORDER BY id LIMIT $1;

-- name: list-articles-with-pending
-- Articles that have pending deliveries.
SELECT DISTINCT article_id FROM deliveries WHERE status = 'pending';

-- name: list-orphan-ranges
-- Pending deliveries of an article ($1) that no live send job covers ($4 int8multirange of live ranges),
-- not claimed within the lease ($2 seconds) and older than $5 seconds, grouped into chunks of $3 by id.
SELECT min(id) AS from_id, max(id) AS to_id, count(*)::int AS deliveries FROM (
  SELECT id, (row_number() OVER (ORDER BY id) - 1) / $3 AS chunk
  FROM deliveries
  WHERE article_id = $1 AND status = 'pending'
    AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2))
    AND created_at < now() - make_interval(secs => $5)
    AND NOT (id <@ $4::int8multirange)
) p
GROUP BY chunk
ORDER BY 1;

-- The digest ledger (digest_deliveries) follows THE LEDGER INVARIANT written at the top of deliveries.sql:
-- claim-digest-deliveries, mark-digest-sent, mark-digest-finished, note-digest-deferred and
-- list-digest-orphan-ranges are its claim, record and orphan statements on this table (only the re-check
-- differs: still on the run's frequency instead of still following the article's sections). A change to
-- one ledger's statements is made to the other's.

-- name: lock-digest-frequency
-- Serialises run creation of one frequency ($1) until the transaction ends: periods chain without gaps or overlaps.
SELECT pg_advisory_xact_lock(73019550, hashtext($1));

-- name: get-digest-run-by-slot
-- The run of a schedule slot ($1 frequency, $2 slot date), if it exists.
SELECT * FROM digest_runs WHERE frequency = $1 AND slot = $2;

-- name: insert-digest-run
-- Creates a run ($1 frequency, $2 slot or NULL, $3 scheduled time or NULL, $4 trigger): its period starts where
-- the previous run's ended and ends now (the clock, not the transaction's start: the lock may have waited).
INSERT INTO digest_runs (frequency, slot, scheduled_for, trigger, period_start, period_end)
VALUES ($1, $2, $3, $4, (SELECT max(period_end) FROM digest_runs WHERE frequency = $1), clock_timestamp())
ON CONFLICT (frequency, slot) DO NOTHING
RETURNING *;

-- name: assign-digest-articles
-- Puts every notifiable article of the last $3 days that no run of the frequency ($2) holds yet into run $1,
-- and stores the count. Only committed articles are seen: one committed later goes into the next run, and the
-- primary key (frequency, article_id) keeps any article out of a second run.
WITH assigned AS (
  INSERT INTO digest_run_articles (frequency, article_id, run_id)
  SELECT $2, a.id, $1 FROM articles a
  WHERE a.notify AND a.created_at > now() - make_interval(days => $3)
  ON CONFLICT (frequency, article_id) DO NOTHING
  RETURNING article_id
)
UPDATE digest_runs SET articles = (SELECT count(*) FROM assigned) WHERE id = $1
RETURNING articles;

-- name: get-digest-run
-- One run by id.
SELECT * FROM digest_runs WHERE id = $1;

-- name: list-digest-runs
-- Recent runs, newest first ($1 limit).
SELECT * FROM digest_runs ORDER BY id DESC LIMIT $1;

-- name: count-digest-deliveries
-- The digest ledger of one run, counted by status.
SELECT count(*)::int AS recipients,
       count(*) FILTER (WHERE status = 'sent')::int AS sent,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status = 'pending')::int AS pending,
       count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed
FROM digest_deliveries WHERE run_id = $1;

-- name: list-digest-run-articles
-- The articles of a run, newest publication first.
SELECT a.id, a.url, a.title, a.summary, a.lang, a.topics, a.published_at, a.created_at
FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id
WHERE ra.run_id = $1
ORDER BY a.published_at DESC, a.id DESC;

-- name: start-digest-fanout
-- Marks a run's fan-out running; returns its frequency and cursor, or nothing when it is done.
UPDATE digest_runs SET fanout_status = 'running'
WHERE id = $1 AND fanout_status IN ('pending', 'running')
RETURNING id, frequency, fanout_cursor;

-- name: write-digest-fanout-page
-- One keyset page of a run's fan-out ($1 run, $2 cursor = last subscriber id scanned, $3 frequency, $4 page size):
-- takes the next $4 active subscribers of the frequency and writes a pending digest delivery for each one that
-- is not suppressed and has at least one article of the run in its sections recorded after it confirmed and
-- after its last frequency change. Moves the cursor in the same statement, so a killed fan-out resumes here.
-- (Having such an article ⟺ following a section whose newest article of the run is newer: one probe per section.)
WITH newest AS MATERIALIZED (
  SELECT t.slug, max(a.created_at) AS created_at
  FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id CROSS JOIN unnest(a.topics) AS t(slug)
  WHERE ra.run_id = $1
  GROUP BY t.slug
), span AS MATERIALIZED (
  SELECT id FROM subscribers WHERE status = 'active' AND frequency = $3 AND id > $2 ORDER BY id LIMIT $4
), page AS (
  SELECT s.id FROM span JOIN subscribers s ON s.id = span.id
  WHERE NOT EXISTS (SELECT 1 FROM suppressions x
                    WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex') AND x.reason <> 'erased')
    AND EXISTS (SELECT 1 FROM subscriber_topics st JOIN newest n ON n.slug = st.topic_slug
                WHERE st.subscriber_id = s.id AND n.created_at > greatest(s.confirmed_at, s.frequency_since))
), written AS (
  INSERT INTO digest_deliveries (run_id, subscriber_id)
  SELECT $1, id FROM page ORDER BY id
  ON CONFLICT (run_id, subscriber_id) DO NOTHING
  RETURNING id
), moved AS (
  UPDATE digest_runs SET fanout_cursor = coalesce((SELECT max(id) FROM span), fanout_cursor)
  WHERE id = $1
  RETURNING fanout_cursor
)
SELECT (SELECT count(*) FROM span)::int AS scanned,
       (SELECT fanout_cursor FROM moved) AS cursor,
       (SELECT count(*) FROM written)::int AS written,
       (SELECT min(id) FROM written) AS from_id,
       (SELECT max(id) FROM written) AS to_id;

-- name: finish-digest-fanout
-- Marks a run's fan-out done.
UPDATE digest_runs SET fanout_status = 'done', fanout_done_at = now() WHERE id = $1 AND fanout_status = 'running';

-- name: finish-digest-run
-- Stamps a run finished once its fan-out is done and nothing of it is pending; returns the run when it did.
UPDATE digest_runs r SET finished_at = now()
WHERE r.id = $1 AND r.fanout_status = 'done' AND r.finished_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM digest_deliveries d WHERE d.run_id = r.id AND d.status = 'pending')
RETURNING r.id, r.frequency, r.created_at, r.finished_at;

-- name: claim-digest-deliveries
-- Claims the pending digest deliveries of a send job ($1 run, $2..$3 id range, $4 job id, $5 lease seconds) and
-- returns them with their subscribers, re-checked now: still active, still on the run's frequency, not
-- suppressed. The same job id may re-claim (its own retry); another only after the lease (ledger invariant 2).
WITH claimed AS (
  UPDATE digest_deliveries d SET claimed_by = $4, claimed_at = now(), attempts = d.attempts + 1, updated_at = now()
  WHERE d.run_id = $1 AND d.id BETWEEN $2 AND $3 AND d.status = 'pending'
    AND (d.claimed_by IS NULL OR d.claimed_by = $4 OR d.claimed_at < now() - make_interval(secs => $5))
  RETURNING d.id, d.subscriber_id
)
SELECT c.id, s.id AS subscriber_id, s.email, s.lang, s.token_version,
       greatest(s.confirmed_at, s.frequency_since) AS since,
       coalesce((SELECT array_agg(st.topic_slug ORDER BY st.topic_slug) FROM subscriber_topics st WHERE st.subscriber_id = s.id), '{}') AS topics,
       (s.id IS NOT NULL AND s.status = 'active' AND s.frequency = r.frequency
        AND NOT EXISTS (SELECT 1 FROM suppressions x
                        WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex') AND x.reason <> 'erased')
       ) AS deliverable
FROM claimed c
JOIN digest_runs r ON r.id = $1
LEFT JOIN subscribers s ON s.id = c.subscriber_id
ORDER BY c.id;

-- name: mark-digest-sent
-- Records accepted digests ($1 ids).
UPDATE digest_deliveries SET status = 'sent', sent_at = now(), updated_at = now(), last_error = NULL, claimed_by = NULL
WHERE id = ANY ($1::bigint[]) AND status = 'pending';

-- name: mark-digest-finished
-- Records final outcomes other than sent ($1 ids, $2 statuses 'failed'|'suppressed', $3 reasons).
UPDATE digest_deliveries d SET status = u.status, last_error = u.reason, updated_at = now(), claimed_by = NULL
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, status, reason)
WHERE d.id = u.id AND d.status = 'pending';

-- name: note-digest-deferred
-- Records why pending digest deliveries were not sent yet ($1 ids, $2 reasons); they stay pending and claimed. Counts them as
-- 'digest' 'deferred' outcomes of this hour (mail_outcomes_hourly, migration 0011).
WITH noted AS (
  UPDATE digest_deliveries d SET last_error = u.reason, updated_at = now()
  FROM unnest($1::bigint[], $2::text[]) AS u(id, reason)
  WHERE d.id = u.id AND d.status = 'pending'
  RETURNING d.id
)
SELECT powiadom_count_mail('digest', 'deferred', (SELECT count(*) FROM noted));

-- name: list-unfinished-digest-fanouts
-- Runs whose fan-out has not finished ($1 limit): the reconciler resumes them.
SELECT id FROM digest_runs WHERE fanout_status <> 'done' ORDER BY id LIMIT $1;

-- name: list-digest-runs-with-pending
-- Runs that have pending digest deliveries, or are done but not stamped finished.
SELECT DISTINCT run_id FROM digest_deliveries WHERE status = 'pending'
UNION
SELECT id FROM digest_runs WHERE fanout_status = 'done' AND finished_at IS NULL;

-- name: list-digest-orphan-ranges
-- Pending digest deliveries of a run ($1) that no live send job covers ($4 int8multirange of live ranges),
-- not claimed within the lease ($2 seconds) and older than $5 seconds, grouped into chunks of $3 by id.
SELECT min(id) AS from_id, max(id) AS to_id, count(*)::int AS deliveries FROM (
  SELECT id, (row_number() OVER (ORDER BY id) - 1) / $3 AS chunk
  FROM digest_deliveries
  WHERE run_id = $1 AND status = 'pending'
    AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2))
    AND created_at < now() - make_interval(secs => $5)
    AND NOT (id <@ $4::int8multirange)
) p
GROUP BY chunk
ORDER BY 1;

-- name: last-digest-success
-- When the last run of each frequency finished.
SELECT frequency, max(finished_at) AS finished_at FROM digest_runs WHERE finished_at IS NOT NULL GROUP BY frequency;

-- name: set-frequency
-- Changes a subscriber's frequency ($2); frequency_since moves only when it really changes.
UPDATE subscribers
SET frequency = $2, updated_at = now(),
    frequency_since = CASE WHEN frequency = $2 THEN frequency_since ELSE clock_timestamp() END
WHERE id = $1;

-- name: set-frequencies
-- Sets the frequency of many subscribers ($1 ids, $2 frequencies, aligned) whose status is one of $3;
-- frequency_since moves only where it really changes.
UPDATE subscribers s
SET frequency = u.f, updated_at = now(), frequency_since = clock_timestamp()
FROM unnest($1::bigint[], $2::text[]) AS u(id, f)
WHERE s.id = u.id AND s.frequency <> u.f AND s.status = ANY ($3::text[]);

-- name: last-scheduled-digest-run
-- The newest scheduled run of a frequency ($1), if the schedule has ever fired.
SELECT * FROM digest_runs WHERE frequency = $1 AND trigger = 'schedule' ORDER BY slot DESC LIMIT 1;

-- name: replace-topics
-- Sets a subscriber's topics to exactly $2 (text[]).
WITH removed AS (
  DELETE FROM subscriber_topics WHERE subscriber_id = $1 AND NOT (topic_slug = ANY ($2::text[]))
)
INSERT INTO subscriber_topics (subscriber_id, topic_slug)
SELECT $1, unnest($2::text[])
ON CONFLICT DO NOTHING;

-- name: get-consent-for-confirmation
-- A consent with its subscriber, locked, for confirming an opt-in; requested_topics/lang: what the consent
-- asked for (NULL on records older than migration 0006).
SELECT c.id AS consent_id, c.confirmed_at, c.withdrawn_at, s.id AS subscriber_id, s.email, s.status, s.lang,
       c.topics AS requested_topics, c.lang AS requested_lang
FROM consents c JOIN subscribers s ON s.id = c.subscriber_id
WHERE c.id = $1
FOR UPDATE OF c, s;

-- name: activate-subscriber
-- Completes the double opt-in.
UPDATE subscribers
SET status = 'active', confirmed_at = now(), updated_at = now(), pending_since = NULL, unsubscribed_at = NULL
WHERE id = $1;

-- name: confirm-consent
-- Stamps the consent with the confirmation time and IP.
UPDATE consents SET confirmed_at = now(), confirm_ip = $2 WHERE id = $1;

-- name: get-subscriber
-- One subscriber with its topics (and its link token version).
SELECT s.id, s.email, s.status, s.lang, s.frequency, s.created_at, s.confirmed_at, s.unsubscribed_at, s.token_version,
       coalesce(array_agg(st.topic_slug ORDER BY st.topic_slug) FILTER (WHERE st.topic_slug IS NOT NULL), '{}') AS topics
FROM subscribers s LEFT JOIN subscriber_topics st ON st.subscriber_id = s.id
WHERE s.id = $1
GROUP BY s.id;

-- name: find-subscribers-by-email
-- Admin search: exact normalised address, or a substring when $2 is true.
SELECT s.id, s.email, s.status, s.lang, s.frequency, s.created_at, s.confirmed_at, s.unsubscribed_at,
       coalesce(array_agg(st.topic_slug ORDER BY st.topic_slug) FILTER (WHERE st.topic_slug IS NOT NULL), '{}') AS topics
FROM subscribers s LEFT JOIN subscriber_topics st ON st.subscriber_id = s.id
WHERE CASE WHEN $2::boolean THEN s.email LIKE '%' || $1 || '%' ELSE s.email = $1 END
GROUP BY s.id
ORDER BY s.id
LIMIT 100;

-- name: set-language
-- Changes a subscriber's language.
UPDATE subscribers SET lang = $2, updated_at = now() WHERE id = $1;

-- name: unsubscribe
-- Ends an active or pending subscription; returns no row when it had already ended.
UPDATE subscribers
SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now(), pending_since = NULL
WHERE id = $1 AND status <> 'unsubscribed'
RETURNING id;

-- name: withdraw-consents
-- Marks the subscriber's open consents as withdrawn, with the method (link, one-click, admin, ...).
UPDATE consents SET withdrawn_at = now(), withdraw_method = $2
WHERE subscriber_id = $1 AND withdrawn_at IS NULL;

-- name: get-token-version
-- The link token version of a subscriber (no row: erased or never existed).
SELECT token_version FROM subscribers WHERE id = $1;

-- name: revoke-links
-- Voids every manage and unsubscribe link already sent to a subscriber; returns the new version (no row: unknown id).
UPDATE subscribers SET token_version = token_version + 1, updated_at = now() WHERE id = $1 RETURNING token_version;

-- name: clear-subscriber-delivery-errors
-- Erasure: forgets the ledger's error texts of a subscriber's deliveries (SMTP replies may have quoted
-- the address); the rows stay, without text, for the article's counts.
UPDATE deliveries SET last_error = NULL WHERE subscriber_id = $1 AND last_error IS NOT NULL;

-- name: delete-subscriber
-- Erases a subscriber: topics and consents go with it (ON DELETE CASCADE); returns the address.
DELETE FROM subscribers WHERE id = $1 RETURNING email;

-- name: list-consents
-- Every consent record of a subscriber, for the data export.
SELECT id, source, consent_text_version, requested_at, host(request_ip) AS request_ip, user_agent,
       confirmed_at, host(confirm_ip) AS confirm_ip, withdrawn_at, withdraw_method
FROM consents WHERE subscriber_id = $1 ORDER BY id;

-- name: delete-expired-pending
-- Deletes subscribers whose opt-in was not confirmed within the TTL ($1 days); returns how many.
-- Never someone who ever withdrew consent: those consent records are the proof of the withdrawal.
WITH gone AS (
  DELETE FROM subscribers s
  WHERE s.status = 'pending' AND s.pending_since < now() - make_interval(days => $1::int)
    AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.subscriber_id = s.id AND c.withdrawn_at IS NOT NULL)
  RETURNING 1
)
SELECT count(*)::int AS deleted FROM gone;

-- name: delete-stale-confirmation-caps
-- Forgets per-mailbox caps whose 24 h window has passed (they would restart at 1 anyway).
DELETE FROM confirmation_caps WHERE window_start < now() - interval '24 hours';

-- name: upsert-imported-subscribers
-- Batch import: inserts or re-activates each (email, lang) pair; returns each id and whether it was new.
-- Rows are unique by email within one batch (the caller de-duplicates). People who unsubscribed or
-- ever withdrew a consent are left alone (no row returned): an import never overrides a withdrawal,
-- not even when a stranger's later request made the row pending again.
INSERT INTO subscribers (email, status, lang, confirmed_at)
SELECT e, 'active', l, now() FROM unnest($1::text[], $2::text[]) AS t (e, l)
ON CONFLICT (email) DO UPDATE
SET status = 'active', lang = EXCLUDED.lang, updated_at = now(), pending_since = NULL,
    confirmed_at = coalesce(subscribers.confirmed_at, now())
WHERE subscribers.status <> 'unsubscribed'
  AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.subscriber_id = subscribers.id AND c.withdrawn_at IS NOT NULL)
RETURNING id, email, (xmax = 0) AS inserted;

-- name: insert-import-consents
-- One consent record per imported subscriber, confirmed at import time.
INSERT INTO consents (subscriber_id, source, consent_text_version, confirmed_at)
SELECT unnest($1::bigint[]), unnest($2::text[]), $3, now();

-- name: replace-topics-batch
-- Sets the topics of many subscribers: $1 subscriber ids, $2 slugs, pairs aligned; $3 all ids touched.
WITH removed AS (
  DELETE FROM subscriber_topics st
  WHERE st.subscriber_id = ANY ($3::bigint[])
    AND NOT EXISTS (SELECT 1 FROM unnest($1::bigint[], $2::text[]) AS n (sid, slug) WHERE n.sid = st.subscriber_id AND n.slug = st.topic_slug)
)
INSERT INTO subscriber_topics (subscriber_id, topic_slug)
SELECT sid, slug FROM unnest($1::bigint[], $2::text[]) AS n (sid, slug)
ON CONFLICT DO NOTHING;


-- name: get-consent-with-subscriber
-- A consent and its subscriber, for composing the confirmation e-mail (in the language the consent asked for).
SELECT c.id AS consent_id, c.confirmed_at, c.withdrawn_at, s.id AS subscriber_id, s.email, s.status,
       coalesce(c.lang, s.lang) AS lang, c.topics AS requested_topics, c.lang AS requested_lang
FROM consents c JOIN subscribers s ON s.id = c.subscriber_id
WHERE c.id = $1;

-- name: request-subscription
-- A subscription request in one round trip (see migration 0004 for the rules it keeps):
-- $1 email, $2 lang, $3 topics, $4 source, $5 consent text version, $6 ip, $7 user agent,
-- $8 SHA-256 of the address, $9 daily cap of confirmation-class e-mails.
SELECT subscriber_id, kind, consent_id, slot_count, window_start
FROM powiadom_request_subscription($1, $2, $3::text[], $4, $5, $6::inet, $7, $8, $9);

-- name: request-subscriptions
-- Several subscription requests in one round trip and one transaction (migration 0005), each as
-- request-subscription would do it, in the order given. Arrays of equal length, one element per request:
-- $1 emails, $2 langs, $3 topics (slugs joined by ','), $4 sources, $5 consent text version (one for all),
-- $6 ips, $7 user agents, $8 SHA-256 of the addresses, $9 daily cap of confirmation-class e-mails.
SELECT request_no, subscriber_id, kind, consent_id, slot_count, window_start
FROM powiadom_request_subscriptions($1::text[], $2::text[], $3::text[], $4::text[], $5, $6::inet[], $7::text[], $8::text[], $9)
ORDER BY request_no;

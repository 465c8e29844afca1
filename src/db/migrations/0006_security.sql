-- Security review (issue 10).
--
-- 1. Consent withdrawals survive strangers: a subscription request for an address that unsubscribed no
--    longer turns it back to 'pending'. Each consent records the topics and language it asked for, so
--    confirming it later can restore exactly what the person confirmed (powiadom_request_subscription is
--    replaced with that rule; every other rule of migration 0004 is kept as it was).
-- 2. A per-subscriber token version: manage and unsubscribe tokens are signed over it, so raising it
--    voids every link already sent (erasure, `POST /api/subscribers/:id/revoke-links`).

ALTER TABLE consents
  ADD COLUMN topics text[],
  ADD COLUMN lang text CHECK (lang IN ('pl', 'en'));

ALTER TABLE subscribers ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- 3. The daily cap of confirmation-class e-mails also per mailbox: "victim+1@…" … "victim+6@…" are six
--    rows but one mailbox. Keyed on SHA-256 of the address without its +tag (no address is stored); the
--    per-row cap (subscribers.confirm_mail_count) stays as well.
CREATE TABLE confirmation_caps (
  mailbox_hash text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  mail_count   integer NOT NULL
);

-- Claims one slot of the mailbox's cap ($1 normalised address, $2 cap per sliding 24 h); false when spent.
CREATE FUNCTION powiadom_claim_mailbox_slot(p_email text, p_cap integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_hash text := encode(sha256(convert_to(regexp_replace(p_email, '\+[^@]*@', '@'), 'UTF8')), 'hex');
  v_claimed boolean;
BEGIN
  INSERT INTO confirmation_caps AS c (mailbox_hash, window_start, mail_count) VALUES (v_hash, now(), 1)
  ON CONFLICT (mailbox_hash) DO UPDATE
  SET mail_count = CASE WHEN c.window_start < now() - interval '24 hours' THEN 1 ELSE c.mail_count + 1 END,
      window_start = CASE WHEN c.window_start < now() - interval '24 hours' THEN now() ELSE c.window_start END
  WHERE c.window_start < now() - interval '24 hours' OR c.mail_count < p_cap
  RETURNING true INTO v_claimed;
  RETURN coalesce(v_claimed, false);
END;
$$;

CREATE OR REPLACE FUNCTION powiadom_request_subscription(
  p_email text, p_lang text, p_topics text[], p_source text, p_text_version text,
  p_ip inet, p_user_agent text, p_email_hash text, p_cap integer)
RETURNS TABLE (subscriber_id bigint, kind text, consent_id bigint, slot_count integer, window_start bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_status text;
  v_inserted boolean;
  v_count integer;
  v_window bigint;
  v_consent bigint;
BEGIN
  -- The no-op SET takes the row lock and returns the state the row had before this request.
  -- A new address (the common case) is written complete in this one INSERT, its first e-mail slot
  -- included: xmax = 0 tells a fresh row from one that existed.
  INSERT INTO subscribers AS s (email, status, lang, pending_since, confirm_mail_count, confirm_mail_window_start)
  VALUES (p_email, 'pending', p_lang, now(), 1, now())
  ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
  RETURNING s.id, s.status, (s.xmax = 0), s.confirm_mail_count, extract(epoch FROM s.confirm_mail_window_start)::bigint
  INTO v_id, v_status, v_inserted, v_count, v_window;

  IF v_inserted THEN
    IF EXISTS (SELECT 1 FROM suppressions WHERE email_hash = p_email_hash AND reason <> 'erased')
       OR NOT powiadom_claim_mailbox_slot(p_email, p_cap) THEN
      v_count := NULL;
      v_window := NULL;
    END IF;
    INSERT INTO subscriber_topics (subscriber_id, topic_slug) SELECT v_id, t FROM unnest(p_topics) AS t;
    INSERT INTO consents (subscriber_id, source, consent_text_version, request_ip, user_agent, topics, lang)
    VALUES (v_id, p_source, p_text_version, p_ip, p_user_agent, p_topics, p_lang)
    RETURNING id INTO v_consent;
    RETURN QUERY SELECT v_id, 'confirm'::text, v_consent, v_count, v_window;
    RETURN;
  END IF;

  v_count := NULL;
  v_window := NULL;
  IF NOT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = p_email_hash AND reason <> 'erased') THEN
    UPDATE subscribers AS s
    SET confirm_mail_count = CASE WHEN s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours'
                                  THEN 1 ELSE s.confirm_mail_count + 1 END,
        confirm_mail_window_start = CASE WHEN s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours'
                                         THEN now() ELSE s.confirm_mail_window_start END
    WHERE s.id = v_id
      AND (s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours' OR s.confirm_mail_count < p_cap)
    RETURNING s.confirm_mail_count, extract(epoch FROM s.confirm_mail_window_start)::bigint INTO v_count, v_window;
    IF v_count IS NOT NULL AND NOT powiadom_claim_mailbox_slot(p_email, p_cap) THEN
      v_count := NULL;
      v_window := NULL;
    END IF;
  END IF;

  IF v_status = 'active' THEN
    RETURN QUERY SELECT v_id, 'already'::text, NULL::bigint, v_count, v_window;
    RETURN;
  END IF;

  -- A withdrawal of consent stands until the person confirms anew: a request from anyone leaves the row,
  -- its status, topics and language as they are; what was asked for waits in the new consent record and
  -- takes effect only when its confirmation link is used.
  IF v_status = 'unsubscribed' THEN
    INSERT INTO consents (subscriber_id, source, consent_text_version, request_ip, user_agent, topics, lang)
    VALUES (v_id, p_source, p_text_version, p_ip, p_user_agent, p_topics, p_lang)
    RETURNING id INTO v_consent;
    RETURN QUERY SELECT v_id, 'confirm'::text, v_consent, v_count, v_window;
    RETURN;
  END IF;

  UPDATE subscribers AS s
  SET status = 'pending', lang = p_lang, updated_at = now(),
      pending_since = CASE WHEN s.status = 'pending' THEN s.pending_since ELSE now() END
  WHERE s.id = v_id;

  DELETE FROM subscriber_topics st WHERE st.subscriber_id = v_id AND NOT (st.topic_slug = ANY (p_topics));
  INSERT INTO subscriber_topics (subscriber_id, topic_slug)
  SELECT v_id, t FROM unnest(p_topics) AS t
  ON CONFLICT DO NOTHING;

  INSERT INTO consents (subscriber_id, source, consent_text_version, request_ip, user_agent, topics, lang)
  VALUES (v_id, p_source, p_text_version, p_ip, p_user_agent, p_topics, p_lang)
  RETURNING id INTO v_consent;

  RETURN QUERY SELECT v_id, 'confirm'::text, v_consent, v_count, v_window;
END;
$$;

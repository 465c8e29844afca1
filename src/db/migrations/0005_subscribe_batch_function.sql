-- Subscription requests in batches ("group commit"): the API collects the requests that arrive while
-- earlier ones are being written and writes them with one call, in one transaction, instead of one call
-- and one commit each. Each request goes through powiadom_request_subscription (migration 0004) in the
-- order given, so two requests for one address in one batch behave as they would one after the other.
-- p_topics holds each request's topic slugs joined by ',' (slugs never contain one).
-- Returns one row per request: its number (1-based) and what powiadom_request_subscription returned.
CREATE FUNCTION powiadom_request_subscriptions(
  p_emails text[], p_langs text[], p_topics text[], p_sources text[], p_text_version text,
  p_ips inet[], p_user_agents text[], p_email_hashes text[], p_cap integer)
RETURNS TABLE (request_no integer, subscriber_id bigint, kind text, consent_id bigint, slot_count integer, window_start bigint)
LANGUAGE plpgsql AS $$
DECLARE
  i integer;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_emails, 1), 0) LOOP
    RETURN QUERY
      SELECT i, r.subscriber_id, r.kind, r.consent_id, r.slot_count, r.window_start
      FROM powiadom_request_subscription(p_emails[i], p_langs[i], string_to_array(p_topics[i], ','), p_sources[i],
                                         p_text_version, p_ips[i], p_user_agents[i], p_email_hashes[i], p_cap) AS r;
  END LOOP;
END;
$$;

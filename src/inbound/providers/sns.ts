import { createPublicKey, createVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/** An SNS HTTP(S) message: a subscription confirmation or a notification. */
export const snsMessageSchema = z.object({
  Type: z.enum(['SubscriptionConfirmation', 'Notification', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1).max(200),
  TopicArn: z.string().min(1).max(300),
  Message: z.string().max(200_000),
  Timestamp: z.string().min(1).max(64),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(2048),
  SigningCertURL: z.string().min(1).max(2048),
  Subject: z.string().max(1000).optional(),
  SubscribeURL: z.string().max(4096).optional(),
  Token: z.string().max(4096).optional(),
});

/** A parsed SNS message. */
export type SnsMessage = z.infer<typeof snsMessageSchema>;

/** Fetches the text at an https URL (the signing certificate, the subscription confirmation). */
export type FetchText = (url: string) => Promise<string>;

/** True for AWS's own SNS hosts only: a certificate anywhere else could be the attacker's. */
export function isSnsUrl(url: URL): boolean {
  return url.protocol === 'https:' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(url.hostname) && url.port === '';
}

async function fetchTextOverHttps(url: string): Promise<string> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${new URL(url).hostname} answered ${res.status}`);
  return res.text();
}

const SIGNED_FIELDS: Record<SnsMessage['Type'], (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** The text SNS signs: "Name\nvalue\n" for each signed field present, in this order. */
export function snsStringToSign(message: SnsMessage): string {
  return SIGNED_FIELDS[message.Type].filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
}

const MAX_CACHED = 20;

/**
 * Verifies SNS message signatures against AWS's signing certificate. The certificate URL must be on an
 * SNS host (anything else is refused before a request is made); certificates are cached by URL.
 */
export class SnsVerifier {
  private readonly keys = new Map<string, Promise<KeyObject>>();

  constructor(
    private readonly fetchText: FetchText = fetchTextOverHttps,
    private readonly urlAllowed: (url: URL) => boolean = isSnsUrl,
  ) {}

  /** True when the message is signed by the certificate its (allowed) SigningCertURL names. */
  async verify(message: SnsMessage): Promise<boolean> {
    if (!URL.canParse(message.SigningCertURL) || !this.urlAllowed(new URL(message.SigningCertURL))) return false;
    const key = await this.certificateKey(message.SigningCertURL);
    const verifier = createVerify(message.SignatureVersion === '2' ? 'RSA-SHA256' : 'RSA-SHA1');
    verifier.update(snsStringToSign(message));
    return verifier.verify(key, message.Signature, 'base64');
  }

  /** Confirms a subscription by visiting its SubscribeURL (only on an allowed host). */
  async confirmSubscription(message: SnsMessage): Promise<boolean> {
    if (!message.SubscribeURL || !URL.canParse(message.SubscribeURL) || !this.urlAllowed(new URL(message.SubscribeURL))) return false;
    await this.fetchText(message.SubscribeURL);
    return true;
  }

  private certificateKey(url: string): Promise<KeyObject> {
    let key = this.keys.get(url);
    if (!key) {
      key = this.fetchText(url).then((pem) => createPublicKey(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' })));
      // a failed fetch is not cached: the next message tries again
      key.catch(() => this.keys.delete(url));
      if (this.keys.size >= MAX_CACHED) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(url, key);
    }
    return key;
  }
}

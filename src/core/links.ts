import type { TokenSigner } from './tokens.ts';

/** Builds the absolute links that e-mails and pages carry; PUBLIC_URL is their base. */
export class Links {
  constructor(
    readonly publicUrl: string,
    private readonly signer: TokenSigner,
    private readonly confirmTtlSeconds: number,
  ) {}

  /** Confirmation link of one consent (expires). */
  confirm(consentId: number, lang = 'pl'): string {
    return `${this.publicUrl}/confirm/${this.signer.sign('confirm', consentId, this.confirmTtlSeconds)}${langQuery(lang)}`;
  }

  /** Preferences page of a subscriber at its token version (see TokenSigner). */
  preferences(subscriberId: number, lang = 'pl', tokenVersion = 0): string {
    return `${this.publicUrl}/preferences/${this.signer.signForSubscriber('manage', subscriberId, tokenVersion)}${langQuery(lang)}`;
  }

  /** One-click unsubscribe link of a subscriber (RFC 8058 target) at its token version. */
  unsubscribe(subscriberId: number, lang = 'pl', tokenVersion = 0): string {
    return `${this.publicUrl}/unsubscribe/${this.signer.signForSubscriber('unsubscribe', subscriberId, tokenVersion)}${langQuery(lang)}`;
  }

  /** The subscription form, optionally with a topic preselected. */
  subscribeForm(lang = 'pl', topic?: string): string {
    const params = new URLSearchParams();
    if (topic) params.set('topic', topic);
    if (lang === 'en') params.set('lang', 'en');
    const query = params.toString();
    return `${this.publicUrl}/subscribe${query ? `?${query}` : ''}`;
  }
}

function langQuery(lang: string): string {
  return lang === 'en' ? '?lang=en' : '';
}

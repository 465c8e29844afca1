import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dkimVerify, type DKIMResult } from 'mailauth';

/** Test keys for one domain: an RSA-2048 key and an Ed25519 key, their PEMs and their DNS TXT records. */
export interface TestDkimKeys {
  domain: string;
  env: Record<string, string>;
  /** answers TXT queries for <selector>._domainkey.<domain> as the domain's DNS would */
  resolver: (name: string, type: string) => Promise<string[][]>;
}

function rawEd25519(publicKey: KeyObject): string {
  // the SPKI DER of an Ed25519 key ends with the 32-byte raw key, which is what RFC 8463 puts in p=
  return (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64');
}

/** Generates the keys; `ed25519: false` configures the RSA signature alone. */
export function createTestDkimKeys(domain = 'duw.example', options: { ed25519?: boolean } = {}): TestDkimKeys {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const rsaRecord = `v=DKIM1; k=rsa; p=${(rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`;
  const records = new Map([
    [`powiadom._domainkey.${domain}`, rsaRecord],
    [`powiadom-ed25519._domainkey.${domain}`, `v=DKIM1; k=ed25519; p=${rawEd25519(ed.publicKey)}`],
  ]);
  const env: Record<string, string> = {
    DKIM_DOMAIN: domain,
    DKIM_SELECTOR: 'powiadom',
    // as in an .env file: one line, "\n" for newlines
    DKIM_PRIVATE_KEY: rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().replace(/\n/g, '\\n'),
  };
  if (options.ed25519 !== false) env.DKIM_ED25519_PRIVATE_KEY = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    domain,
    env,
    async resolver(name, type) {
      const record = type === 'TXT' ? records.get(name.toLowerCase()) : undefined;
      if (!record) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
      return [[record]];
    },
  };
}

/** mailauth's results; its type declarations leave out `algo`, which its results carry. */
async function verify(raw: string | Buffer, keys: TestDkimKeys) {
  const { results } = await dkimVerify(Buffer.from(raw), { resolver: keys.resolver, sender: `powiadom@${keys.domain}` });
  return results as (DKIMResult & { algo?: string })[];
}

/** The algorithms of the signatures that mailauth (an independent verifier) finds valid, e.g. ["ed25519-sha256", "rsa-sha256"]. */
export async function passingSignatures(raw: string | Buffer, keys: TestDkimKeys): Promise<string[]> {
  const results = await verify(raw, keys);
  return results.filter((r) => r.status.result === 'pass' && r.signingDomain === keys.domain).map((r) => r.algo ?? '').sort();
}

/** Why mailauth rejected each signature (for assertion messages). */
export async function verdicts(raw: string | Buffer, keys: TestDkimKeys): Promise<string> {
  const results = await verify(raw, keys);
  return results.map((r) => `${r.algo}: ${r.status.result} ${r.status.comment ?? ''}`).join('; ');
}

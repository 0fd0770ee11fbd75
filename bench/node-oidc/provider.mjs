// node-oidc-provider configured like Verity's sandbox confidential app, for
// bench/compare-node-oidc.sh: one confidential client (client_secret_basic), RS256 ID tokens
// (RSA 2048), PKCE S256 required, refresh tokens issued to the client and rotated at every use
// (as Verity does), introspection and revocation, the development sign-in and consent pages.
//
// Differences that remain, stated in BENCHMARKS.md: node-oidc-provider keeps everything in
// memory (its default adapter) where Verity writes to SQLite; its development login accepts any
// password (Verity verifies argon2id); its userinfo is a plain JSON object (Verity's `oidc`
// profile, not the `idme` signed JWT).
//
// Usage: PORT=18081 node provider.mjs   (oidc-provider must be installed beside it)
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18081);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'bench-rs256' };

// The sandbox personas' names; the development login takes the email as the account id.
const people = {
  'student@sandbox.test': { given_name: 'Sam', family_name: 'Chen', birthdate: '2003-09-30' },
  'unverified@sandbox.test': { given_name: 'Casey', family_name: 'Morgan' },
};

const configuration = {
  clients: [{
    client_id: 'sandbox-confidential',
    client_secret: 'sandbox-secret',
    redirect_uris: ['http://127.0.0.1:8090/callback', 'http://localhost:8090/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['given_name', 'family_name', 'birthdate'],
    email: ['email', 'email_verified'],
  },
  // Verity puts the granted attribute claims in the ID token too.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, ...(people[id] || {}) };
      },
    };
  },
  // Verity issues refresh tokens to apps allowed them (no offline_access needed) and rotates
  // them at every use.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: () => true,
  // Verity's lifetimes (SPEC 4).
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 300,
    IdToken: 300,
    RefreshToken: 604800,
    Interaction: 3600,
    Session: 28800,
    Grant: 604800,
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider is ready: issuer ${issuer}`);
});

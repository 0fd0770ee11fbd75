// Passkeys in a real browser (issue 23): Chromium's DevTools WebAuthn virtual authenticator
// (`WebAuthn.enable`, `WebAuthn.addVirtualAuthenticator`) registers a passkey on the account page,
// signs in with it after the password and without one, and the ID token says so (`amr`, `acr`,
// shown by a small relying party of the test's own that exchanges the code; the `openidconnect`
// crate validates the same claims in the Rust tests). A second browser context, whose
// authenticator holds a passkey the account never registered, cannot sign in. A real
// `verity serve --sandbox` whose public URL names `localhost` (WebAuthn needs a domain).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { admin as adminOf, audit, freePort, launchChromium, shot, startSandbox } from './support.mjs';

const EMAIL = 'student@sandbox.test';
const PASSWORD = 'sandbox-password';
const PHISHING_RESISTANT = 'http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true';
let provider, base, browser, rp, rpBase, clientId, clientSecret;
let ctx, page, cdp, authenticatorId;

// The relying party: its callback exchanges the code (client_secret_basic) and shows the ID
// token's amr and acr.
function startRp() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, rpBase);
    const code = url.searchParams.get('code');
    let body;
    if (code) {
      const resp = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rpBase}/cb` }),
      });
      const tokens = await resp.json();
      const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
      body = `<h1>Signed in</h1><dl><dt>amr</dt><dd id="amr">${JSON.stringify(claims.amr)}</dd>`
        + `<dt>acr</dt><dd id="acr">${claims.acr}</dd></dl>`;
    } else {
      body = `<h1>Not signed in</h1><p id="error">${url.searchParams.get('error')}</p>`;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>RP</title>${body}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function authorizeUrl(extra = {}) {
  const q = new URLSearchParams({
    client_id: clientId, redirect_uri: `${rpBase}/cb`, response_type: 'code', scope: 'openid',
    state: 'st', nonce: 'nn', ...extra,
  });
  return `${base}/oauth/authorize?${q}`;
}

// A page whose DevTools session has a virtual platform authenticator that verifies its user.
async function withAuthenticator(context) {
  const p = await context.newPage();
  const session = await context.newCDPSession(p);
  await session.send('WebAuthn.enable');
  const { authenticatorId: id } = await session.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { p, session, id };
}

before(async () => {
  const port = await freePort();
  provider = await startSandbox('passkeys', {
    VERITY_LISTEN: `127.0.0.1:${port}`,
    VERITY_PUBLIC_URL: `http://localhost:${port}`,
  });
  base = `http://localhost:${port}`;
  rp = await startRp();
  rpBase = `http://127.0.0.1:${rp.address().port}`;
  const admin = (...args) => adminOf(provider.base, ...args);
  const org = await admin('POST', '/organizations', { name: 'Passkey E2E' });
  const created = await admin('POST', `/organizations/${org.id}/apps`, {
    name: 'Passkey test app', redirect_uris: [`${rpBase}/cb`], policies: ['openid'], profile: 'oidc',
  });
  clientId = created.client_id;
  clientSecret = created.client_secret;
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 375, height: 812 } });
  ({ p: page, session: cdp, id: authenticatorId } = await withAuthenticator(ctx));
});

after(async () => {
  await browser?.close();
  rp?.close();
  provider?.stop();
});

test('a person adds a passkey on their account page', async () => {
  await page.goto(`${base}/account/passkeys`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
  assert.match(await page.textContent('body'), /You have no passkey yet/);
  await page.getByLabel('Name').fill('This phone');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  // The first passkey of an account without an authenticator app comes with recovery codes.
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  assert.match(await page.textContent('body'), /Passkey added/);
  assert.equal(await page.locator('.recovery-codes code').count(), 10);
  await shot(page, '80-passkey-recovery-codes-phone');
  await page.getByRole('link', { name: /back to my passkeys/ }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
  assert.match(await page.textContent('table'), /This phone/);
  await audit(page, '80-passkeys-added');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.ok(credentials[0].isResidentCredential, 'a discoverable passkey, for passwordless sign-in');
  await page.goto(`${base}/account`);
  assert.match(await page.textContent('body'), /You have one passkey/);
});

test('the passkey is the second step after the password, and the ID token says so', async () => {
  await ctx.clearCookies();
  await page.goto(authorizeUrl());
  await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
  await audit(page, '81-signin-with-passkey-option');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  assert.equal(await page.getByLabel('Code', { exact: true }).count(), 0, 'no TOTP on this account');
  assert.match(await page.textContent('body'), /Lost your passkey\? Use a recovery code/);
  await audit(page, '82-second-step-passkey');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#amr').waitFor();
  assert.deepEqual(JSON.parse(await page.textContent('#amr')), ['pwd', 'hwk', 'user', 'mfa']);
  assert.equal(await page.textContent('#acr'), PHISHING_RESISTANT);
  await shot(page, '83-id-token-after-password-and-passkey');
});

test('the passkey alone signs in when an app demands a phishing-resistant sign-in', async () => {
  await ctx.clearCookies();
  await page.goto(authorizeUrl({ acr_values: PHISHING_RESISTANT }));
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.locator('#amr').waitFor();
  assert.deepEqual(JSON.parse(await page.textContent('#amr')), ['hwk', 'user', 'mfa']);
  assert.equal(await page.textContent('#acr'), PHISHING_RESISTANT);
  await shot(page, '84-id-token-passkey-alone');
});

test('a second browser whose authenticator lacks the passkey cannot sign in', async () => {
  const other = await browser.newContext({ viewport: { width: 375, height: 812 } });
  const { p, session, id } = await withAuthenticator(other);
  // A passkey for this site that no account registered, with the person's user handle even.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  await session.send('WebAuthn.addCredential', {
    authenticatorId: id,
    credential: {
      credentialId: randomBytes(16).toString('base64'),
      isResidentCredential: true,
      rpId: 'localhost',
      privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      userHandle: credentials[0].userHandle,
      signCount: 0,
    },
  });
  await p.goto(authorizeUrl());
  await p.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const error = p.locator('#passkey-error');
  await error.waitFor();
  assert.match(await error.textContent(), /is not registered/);
  assert.match(p.url(), /\/oauth\/interaction\//, 'still on the sign-in page');
  await audit(p, '85-passkey-not-registered');
  await other.close();
});

test('a person removes their passkey', async () => {
  await ctx.clearCookies();
  await page.goto(`${base}/account/passkeys`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
  await page.getByRole('button', { name: 'Remove the passkey This phone' }).click();
  await page.getByText('Passkey removed').waitFor();
  assert.match(await page.textContent('body'), /You have no passkey yet/);
  await shot(page, '86-passkey-removed');
});

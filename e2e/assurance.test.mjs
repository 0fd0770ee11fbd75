// Browser test of identity assurance (issue 22): the reference app (`verity rp` with
// VERITY_RP_VERIFIED_CLAIMS) asks a sandbox provider for `verified_claims`, the veteran signs in
// on a phone, and the app's profile page tells how each attribute and group was verified: the
// document, who issued it, the last four characters of its number and the dates, in words.
// A real `verity serve --sandbox` and `verity rp` on free ports, Debian's chromium driven by
// playwright-core. Screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  admin as adminOf, freePort, launchChromium, shot, shots, start, startSandbox, totp,
} from './support.mjs';

const IDENTITY = 'http://idmanagement.gov/ns/assurance/ial/2/aal/2';
const MONTH = '(January|February|March|April|May|June|July|August|September|October|November|December)';
let provider, app, base, rpBase, browser, rpDir;
const admin = (...args) => adminOf(base, ...args);

before(async () => {
  mkdirSync(shots, { recursive: true });
  rpDir = mkdtempSync(join(tmpdir(), 'verity-e2e-rp-'));
  provider = await startSandbox('assurance');
  base = provider.base;

  // An `oidc`-profile app (identity assurance is for those) with the identity policy and
  // military, its redirect URI on the port the reference app will listen on.
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const org = await admin('POST', '/organizations', { name: 'Assurance E2E' });
  const created = await admin('POST', `/organizations/${org.id}/apps`, {
    name: 'Reference app with identity assurance',
    redirect_uris: [redirectUri],
    policies: ['openid', IDENTITY, 'military'],
    profile: 'oidc',
    public: false,
    refresh_tokens: false,
  });
  assert.ok(created.client_id && created.client_secret);

  const rp = start(['rp'], {
    VERITY_RP_ISSUER: `${base}/oidc`,
    VERITY_RP_CLIENT_ID: created.client_id,
    VERITY_RP_CLIENT_SECRET: created.client_secret,
    VERITY_RP_REDIRECT_URI: redirectUri,
    VERITY_RP_SCOPES: `openid ${IDENTITY} military`,
    VERITY_RP_VERIFIED_CLAIMS: 'true',
    VERITY_LISTEN: `127.0.0.1:${port}`,
    VERITY_DATA_DIR: rpDir,
    // The app's own SQLite file in its data directory, whatever the environment says.
    DATABASE_URL: `sqlite://${join(rpDir, 'verity-rp.db')}`,
  }, /The reference app is ready: (http:\/\/[^\s]+?)\/?\s/, 'verity rp');
  app = rp.child;
  rpBase = await rp.match;

  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  app?.kill('SIGTERM');
  provider?.stop();
  if (rpDir) rmSync(rpDir, { recursive: true, force: true });
});

test('the reference app shows how the veteran was verified', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  await p.goto(`${rpBase}/`);
  await p.getByRole('button', { name: 'Verify your identity' }).click();
  await p.getByLabel('Email').fill('veteran@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByLabel('Code').fill(totp('JBSWY3DPEHPK3PXP'));
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('button', { name: 'Allow' }).waitFor();
  await shot(p, 'rp-verified-claims-consent-phone');
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(`${rpBase}/profile`);
  await p.getByRole('heading', { name: 'How this was verified' }).waitFor();
  await shot(p, 'rp-verified-claims');

  const details = await p.locator('#verified-claims').innerText();
  assert.match(details, /Given name/);
  assert.match(details, /Jordan/);
  assert.match(details, /driver['’]s license issued by Virginia/i);
  assert.match(details, /number ending 5678/);
  assert.match(details, new RegExp(`expires \\d{1,2} ${MONTH} \\d{4}`));
  assert.match(details, /Military \(Veteran\)/);
  assert.match(details, new RegExp(`verified from a DD-214 on \\d{1,2} ${MONTH} \\d{4}`));
  assert.doesNotMatch(details, /\b1[0-9]{9}\b/, 'no Unix timestamps');

  // The same page on a desktop browser, signed in with the same session cookie.
  const wide = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await wide.addCookies(await ctx.cookies(rpBase));
  const d = await wide.newPage();
  await d.goto(`${rpBase}/profile`);
  await d.getByRole('heading', { name: 'How this was verified' }).waitFor();
  await shot(d, 'rp-verified-claims-desktop');
  await wide.close();
  await ctx.close();
});

// Browser test of identity assurance (issue 22): the reference app (`verity rp` with
// VERITY_RP_VERIFIED_CLAIMS) asks a sandbox provider for `verified_claims`, the veteran signs in
// on a phone, and the app's profile page tells how each attribute and group was verified: the
// document, who issued it, the last four characters of its number and the dates, in words.
// A real `verity serve --sandbox` and `verity rp` on free ports, Debian's chromium driven by
// playwright-core. Screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shots = join(root, 'target', 'e2e');
const binary =
  process.env.VERITY_BIN ??
  join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug', 'verity');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const IDENTITY = 'http://idmanagement.gov/ns/assurance/ial/2/aal/2';
const MONTH = '(January|February|March|April|May|June|July|August|September|October|November|December)';
let server, app, base, rpBase, browser, dataDir, rpDir;

function totp(base32, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// A port the system just handed out: the app's redirect URI must name it before the app starts.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts `verity <args>` and resolves with the first match of `ready` on its stdout.
function start(args, env, ready, name) {
  const child = spawn(binary, args, {
    env: { ...process.env, VERITY_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(ready);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { child, match };
}

async function admin(method, path, body) {
  const resp = await fetch(`${base}/api/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await resp.json();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'verity-e2e-'));
  rpDir = mkdtempSync(join(tmpdir(), 'verity-e2e-rp-'));
  const provider = start(['serve', '--sandbox'], {
    VERITY_LISTEN: '127.0.0.1:0',
    VERITY_DATA_DIR: dataDir,
    VERITY_ARGON2_MEMORY_KIB: '1024',
    VERITY_ARGON2_ITERATIONS: '1',
    VERITY_ADMIN_TOKEN: ADMIN_TOKEN,
  }, /issuer (http:\/\/[^\s]+)\/oidc/, 'verity serve');
  server = provider.child;
  base = await provider.match;

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

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  app?.kill('SIGTERM');
  server?.kill('SIGTERM');
  for (const dir of [dataDir, rpDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test('the reference app shows how the veteran was verified', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  await p.goto(`${rpBase}/`);
  await p.getByRole('button', { name: 'Verify your identity' }).click();
  await p.getByLabel('Email').fill('veteran@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in' }).click();
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

// Browser apps (issue 28): the example single-page app in examples/browser-app (static HTML with
// oidc-client-ts from npm), served from an origin of its own, signs in against a production-mode
// Verity, loads userinfo, refreshes its tokens and signs out, all through CORS; a page on an
// origin no app registered cannot read a token endpoint answer. A real `verity serve` (no
// sandbox) on a free port, Debian's chromium driven by playwright-core. Screenshots go to
// target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import {
  ISSUER_READY, TEST_ENV, admin as adminOf, launchChromium, root, shot, start,
} from './support.mjs';

const example = join(root, 'examples', 'browser-app');
const library = join(root, 'e2e', 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.min.js');
const EMAIL = 'spa.person@example.com';
const PASSWORD = 'a long passphrase for the spa';
let server, base, browser, dataDir, appSite, otherSite, clientId;
const admin = (...args) => adminOf(base, ...args);

// Serves the example app's files, its oidc-client-ts from e2e's node_modules, and a config.js
// naming this provider and app. Resolves with the site's origin.
function serveExample(config) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const site = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    let body;
    let type = types[extname(path)] ?? 'application/octet-stream';
    if (path === '/config.js') {
      body = `window.VERITY_CONFIG = ${JSON.stringify(config())};`;
    } else if (path.endsWith('/oidc-client-ts.min.js')) {
      body = readFileSync(library);
    } else {
      const file = normalize(join(example, path === '/' ? 'index.html' : path));
      if (!file.startsWith(example)) { res.writeHead(403).end(); return; }
      try { body = readFileSync(file); } catch { res.writeHead(404).end(); return; }
      if (path === '/') type = types['.html'];
    }
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve) => {
    site.listen(0, '127.0.0.1', () => resolve({ site, origin: `http://127.0.0.1:${site.address().port}` }));
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'verity-e2e-spa-'));
  // Production mode: no sandbox apps or personas; the app and the person come from the admin API.
  const provider = start(['serve'], {
    VERITY_LISTEN: '127.0.0.1:0',
    VERITY_DATA_DIR: dataDir,
    // One sign-up per address in ten minutes, so that the limit's page is met below.
    VERITY_LIMIT_SIGNUP: '1/10m',
    ...TEST_ENV,
  }, ISSUER_READY, 'verity serve');
  server = provider.child;
  base = await provider.match;
  const config = () => ({ authority: `${base}/oidc`, client_id: clientId, scope: 'openid' });
  appSite = await serveExample(config);
  otherSite = await serveExample(config);

  // A public app with refresh tokens, registered for the example's origin only.
  const org = await admin('POST', '/organizations', { name: 'Browser app E2E' });
  const created = await admin('POST', `/organizations/${org.id}/apps`, {
    name: 'Example browser app',
    redirect_uris: [`${appSite.origin}/`],
    post_logout_redirect_uris: [`${appSite.origin}/`],
    policies: ['openid'],
    profile: 'oidc',
    public: true,
    refresh_tokens: true,
  });
  assert.equal(created.client_secret, undefined);
  clientId = created.client_id;
  await admin('POST', '/users', { email: EMAIL, password: PASSWORD, attributes: {} });

  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  appSite?.site.close();
  otherSite?.site.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a single-page app signs in, reads userinfo, refreshes and signs out through CORS', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  const failures = [];
  p.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  // What the page itself sent to Verity's token endpoint (cross-origin, so through CORS).
  const grants = [];
  p.on('request', (r) => {
    if (r.url() === `${base}/oauth/token` && r.method() === 'POST') {
      grants.push(new URLSearchParams(r.postData() ?? '').get('grant_type'));
    }
  });
  await p.goto(`${appSite.origin}/`);
  await p.getByText('You are not signed in.').waitFor();
  await shot(p, '60-browser-app-signed-out-phone');
  await p.getByRole('button', { name: 'Sign in with Verity' }).click();

  // Verity's own pages: sign in, then allow the app.
  await p.getByLabel('Email').fill(EMAIL);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: /sign in/i }).click();
  const allow = p.getByRole('button', { name: /allow/i });
  if (await allow.isVisible().catch(() => false)) await allow.click();

  // Back on the app's origin: the code was redeemed by the browser (token endpoint, CORS) and
  // userinfo loaded with the access token (CORS with an Authorization header: a preflight).
  await p.getByText('You are signed in.').waitFor();
  assert.equal(new URL(p.url()).origin, appSite.origin);
  const claims = await p.locator('#claims').innerText();
  assert.match(claims, /sub/);
  assert.match(await p.locator('#expiry').innerText(), /The access token works until \w+ \d+, \d{4}/);
  await shot(p, '61-browser-app-signed-in-phone');

  const before = await p.locator('#expiry').getAttribute('data-access-token');
  await p.getByRole('button', { name: 'Refresh the tokens' }).click();
  await p.getByText('The tokens were refreshed.').waitFor();
  const after = await p.locator('#expiry').getAttribute('data-access-token');
  assert.notEqual(after, before, 'a refresh grant gave a new access token');
  assert.deepEqual(grants, ['authorization_code', 'refresh_token']);
  assert.equal(await p.locator('#error').isHidden(), true, await p.locator('#error').innerText());

  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.waitForURL(`${appSite.origin}/**`);
  await p.getByText('You are not signed in.').waitFor();
  await shot(p, '62-browser-app-after-sign-out-phone');
  assert.deepEqual(failures.filter((f) => !f.includes('favicon')), []);
  await ctx.close();
});

test('a page on an unregistered origin cannot read the token endpoint, the app\'s origin can', async () => {
  const ctx = await browser.newContext();
  const attempt = async (origin) => {
    const p = await ctx.newPage();
    await p.goto(`${origin}/`);
    const answer = await p.evaluate(async ({ url, client_id }) => {
      try {
        const resp = await fetch(url, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'authorization_code', client_id, code: '0'.repeat(32),
            redirect_uri: 'https://nowhere.example/', code_verifier: 'x'.repeat(43),
          }),
        });
        return { status: resp.status, body: await resp.json() };
      } catch (e) {
        return { thrown: `${e.name}: ${e.message}` };
      }
    }, { url: `${base}/oauth/token`, client_id: clientId });
    await p.close();
    return answer;
  };
  const own = await attempt(appSite.origin);
  assert.equal(own.status, 400, JSON.stringify(own));
  assert.equal(own.body.error, 'invalid_grant');
  const other = await attempt(otherSite.origin);
  assert.deepEqual(other, { thrown: 'TypeError: Failed to fetch' });

  // And never with credentials, whatever the origin.
  const resp = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { origin: appSite.origin },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: '0'.repeat(32) }),
  });
  assert.equal(resp.headers.get('access-control-allow-origin'), appSite.origin);
  assert.equal(resp.headers.get('access-control-allow-credentials'), null);
  assert.equal(resp.headers.get('vary'), 'Origin');
  await ctx.close();
});

test('a second sign-up from one address is told when to try again, its email kept', async () => {
  const signUp = async (email) => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    await p.goto(`${appSite.origin}/`);
    await p.getByRole('button', { name: 'Sign in with Verity' }).click();
    await p.getByRole('link', { name: 'Create an account' }).click();
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password', { exact: false }).first().fill('a new long passphrase');
    await p.getByLabel('Confirm password').fill('a new long passphrase');
    const [resp] = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith('/signup') && r.request().method() === 'POST'),
      p.getByRole('button', { name: 'Create account' }).click(),
    ]);
    return { ctx, p, resp };
  };
  const first = await signUp('first.newcomer@example.com');
  assert.notEqual(first.resp.status(), 429);
  await first.ctx.close();

  const second = await signUp('second.newcomer@example.com');
  assert.equal(second.resp.status(), 429);
  const retryAfter = Number(second.resp.headers()['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
  await second.p.getByRole('alert').filter({ hasText: /Try again in \d+ minutes/ }).waitFor();
  assert.equal(await second.p.getByLabel('Email').inputValue(), 'second.newcomer@example.com');
  assert.equal(await second.p.getByLabel('Confirm password').inputValue(), '');
  await shot(second.p, '63-sign-up-limit-phone');
  await second.ctx.close();
});

// The person's own data (SPEC 14) in real Chromium against a real `verity serve --sandbox`: after
// a sign-in to an app, `/account` lists the app with what it received, and `/account/activity`
// lists the sign-in. Each page goes through `audit` (axe-core at 1280 and 375 px, screenshots
// `account-apps-*` and `account-activity-*` in target/e2e/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { audit, launchChromium, startSandbox } from './support.mjs';

const CALLBACK = 'http://127.0.0.1:8090/callback';
let provider, base, browser;

before(async () => {
  provider = await startSandbox('account-data');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

test('the apps a person used and their activity read as pages', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  await p.route('http://127.0.0.1:8090/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' }));
  const url = new URL(`${base}/oauth/authorize`);
  url.search = new URLSearchParams({
    client_id: 'sandbox-confidential', redirect_uri: CALLBACK, response_type: 'code',
    scope: 'openid email student', state: 'data-state', nonce: 'data-nonce',
  }).toString();
  await p.goto(url.toString());
  await p.getByLabel('Email').fill('student@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);

  await p.goto(`${base}/account`);
  await p.getByRole('heading', { name: 'Apps you use' }).waitFor();
  const app = p.locator('li.app', { hasText: 'Sandbox Confidential App' });
  await app.waitFor();
  assert.match(await app.textContent(), /Received at the last sign-in: uuid, email/);
  await audit(p, 'account-apps');

  await p.getByRole('link', { name: 'Your activity' }).click();
  await p.getByRole('heading', { name: 'Your activity' }).waitFor();
  const text = await p.textContent('main');
  assert.match(text, /Signed in with your password \(Sandbox Confidential App\), from /);
  assert.match(text, /Released to an app: uuid, email/);
  await audit(p, 'account-activity');
  await ctx.close();
});

// Every page a person can reach on the provider (issue 26), in real Chromium against a real
// `verity serve --sandbox`: the home page, the error pages, sign-in and sign-up with their errors
// beside the fields, consent, the verification pages, the account and its second factor, the
// reviewers' pages and the sandbox's outbox. Each goes through `audit`: axe-core at 1280 and
// 375 px (no serious or critical violation, no sideways scroll on a phone) and a screenshot of
// each width in target/e2e/ (`page-*`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, audit, launchChromium, startSandbox, totp } from './support.mjs';

const CALLBACK = 'http://127.0.0.1:8090/callback';
const VETERAN_SECRET = 'JBSWY3DPEHPK3PXP';
const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64');
let provider, base, browser;

before(async () => {
  provider = await startSandbox('pages');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

// A fresh browser whose visits to the outside app's callback answer a stub page.
async function freshPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  await p.route('http://127.0.0.1:8090/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' }));
  return { ctx, p };
}

function authorizeUrl(scope, extra = {}) {
  const url = new URL(`${base}/oauth/authorize`);
  url.search = new URLSearchParams({
    client_id: 'sandbox-confidential', redirect_uri: CALLBACK, response_type: 'code',
    scope, state: 'pages-state', nonce: 'pages-nonce', ...extra,
  }).toString();
  return url.toString();
}

async function signIn(p, email) {
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('a browser at the home page, an unknown path or a broken sign-in link reads a page', async () => {
  const { ctx, p } = await freshPage();
  let resp = await p.goto(`${base}/`);
  assert.equal(resp.status(), 200);
  await p.getByRole('heading', { name: 'Prove who you are, once' }).waitFor();
  assert.match(await p.textContent('main'), /start it from the app you want to use/);
  await audit(p, 'page-home');

  resp = await p.goto(`${base}/no/such/page`);
  assert.equal(resp.status(), 404);
  await p.getByRole('heading', { name: 'Page not found' }).waitFor();
  assert.match(await p.textContent('.small-print'), /Request id: [0-9a-f]{16}/);
  await audit(p, 'page-not-found');

  // API clients keep JSON at the same addresses.
  for (const path of ['/', '/no/such/page']) {
    const api = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 404);
    assert.deepEqual(await api.json(), { error: 'not_found', error_description: 'no such endpoint' });
  }

  // An app that is not registered: plain words for the person, who can fix it, and the
  // protocol's words in small print for the developer.
  resp = await p.goto(authorizeUrl('openid', { client_id: 'no-such-app' }));
  assert.equal(resp.status(), 400);
  await p.getByRole('heading', { name: 'This sign-in link does not work' }).waitFor();
  const main = await p.textContent('main');
  assert.match(main, /only the app's developer can fix it/);
  assert.match(await p.textContent('.small-print'),
    /Details for the app's developer: client_id is not a known app \(invalid_request\)/);
  assert.doesNotMatch(await p.textContent('.error'), /client_id|invalid_request/);
  await audit(p, 'page-broken-sign-in-link');
  await ctx.close();
});

test('sign-in and sign-up keep what the person typed and say each problem beside its field', async () => {
  const { ctx, p } = await freshPage();
  await p.goto(authorizeUrl('openid student'));
  await p.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await audit(p, 'page-sign-in');

  await p.getByLabel('Email').fill('student@sandbox.test');
  await p.getByLabel('Password').fill('not-the-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.locator('#password-error').waitFor();
  assert.equal(await p.getByLabel('Email').inputValue(), 'student@sandbox.test', 'the email is kept');
  assert.equal(await p.getByLabel('Password').inputValue(), '', 'a password is never sent back');
  assert.equal(await p.textContent('#password-error'), 'The email or password is incorrect.');
  const password = p.getByLabel('Password');
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.equal(await password.getAttribute('aria-describedby'), 'password-error');
  assert.ok(await password.evaluate((el) => el === document.activeElement), 'the password has the focus');
  await audit(p, 'page-sign-in-wrong-password');

  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByRole('heading', { name: 'Create an account' }).waitFor();
  await audit(p, 'page-sign-up');
  await p.getByLabel('Email').fill('not-an-address');
  await p.getByLabel('Password', { exact: true }).fill('short');
  await p.getByLabel('Confirm password').fill('shorter');
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.locator('#email-error').waitFor();
  assert.equal(await p.getByLabel('Email').inputValue(), 'not-an-address');
  for (const [id, text] of [
    ['email', /Enter an email address like name@example\.com/],
    ['password', /at least 8 characters/],
    ['password_confirm', /do not match/],
  ]) {
    assert.match(await p.textContent(`#${id}-error`), text);
    const field = p.locator(`#${id}`);
    assert.equal(await field.getAttribute('aria-invalid'), 'true', id);
    assert.match(await field.getAttribute('aria-describedby'), new RegExp(`\\b${id}-error\\b`), id);
  }
  assert.equal(await p.locator('p.error[role=alert]:not(.field-error)').count(), 0, 'no banner');
  await audit(p, 'page-sign-up-errors');

  // An address that has an account: the message is beside the email, with the email kept.
  await p.getByLabel('Email').fill('student@sandbox.test');
  await p.getByLabel('Password', { exact: true }).fill('a long password');
  await p.getByLabel('Confirm password').fill('a long password');
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.locator('#email-error', { hasText: 'already exists' }).waitFor();
  assert.equal(await p.getByLabel('Email').inputValue(), 'student@sandbox.test');

  await p.getByRole('link', { name: 'Sign in', exact: true }).click();
  await signIn(p, 'student@sandbox.test');
  await p.getByRole('button', { name: 'Allow' }).waitFor();
  await audit(p, 'page-consent');
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);
  await ctx.close();
});

test('the verification pages, the sandbox outbox and the person\'s list of cases', async () => {
  const { ctx, p } = await freshPage();
  await p.goto(authorizeUrl('openid government'));
  await signIn(p, 'unverified@sandbox.test');
  await p.getByRole('heading', { name: 'Verification needed' }).waitFor();
  await audit(p, 'page-verification-needed');
  await p.getByRole('link', { name: /verify with your email/ }).click();
  await p.getByLabel('Email address').waitFor();
  await audit(p, 'page-verify-email');
  await p.getByLabel('Email address').fill('jane.doe@example.com');
  await p.getByRole('button', { name: 'Send the code' }).click();
  await p.locator('#email-error').waitFor();
  await audit(p, 'page-verify-email-refused');
  await p.getByLabel('Email address').fill('jane.doe@va.gov');
  await p.getByRole('button', { name: 'Send the code' }).click();
  await p.getByLabel('Code from the email').waitFor();
  await audit(p, 'page-verify-code');

  const outbox = await ctx.newPage();
  await outbox.goto(`${base}/sandbox/outbox`);
  await outbox.getByText('To jane.doe@va.gov').first().waitFor();
  await audit(outbox, 'page-sandbox-outbox');
  await outbox.close();

  // Documents for another group, outside the flow, from the person's own list.
  await p.goto(`${base}/account/verifications/military`);
  await p.getByLabel('Kind of document').waitFor();
  await audit(p, 'page-verify-documents');
  await p.getByLabel('Kind of document').selectOption('dd214');
  await p.getByLabel('Files').setInputFiles([{ name: 'dd214.png', mimeType: 'image/png', buffer: PNG_1PX }]);
  await p.getByRole('button', { name: 'Upload for review' }).click();
  await p.getByText('Your documents are in review.').waitFor();
  await audit(p, 'page-verify-in-review');

  await p.goto(`${base}/account/verifications`);
  await p.getByRole('heading', { name: /Military: In review/ }).waitFor();
  // A moment is a <time> said in the reader's own words, never Unix seconds.
  const time = p.locator('time[datetime]').first();
  assert.match(await time.getAttribute('datetime'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.match(await time.textContent(), /^[A-Z][a-z]+ \d{1,2}, \d{4}$|^\d{1,2} [A-Z][a-z]+ \d{4}$/);
  assert.doesNotMatch(await p.textContent('main'), /\b1[7-9]\d{8}\b/);
  await audit(p, 'page-account-verifications');
  await ctx.close();
});

test('the account, its second factor, signing out, and the reviewers\' pages', async () => {
  // The veteran has an authenticator app: the second step, the account, new recovery codes.
  const { ctx, p } = await freshPage();
  await p.goto(`${base}/account`);
  await signIn(p, 'veteran@sandbox.test');
  await p.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  await audit(p, 'page-second-factor');
  const now = Date.now();
  await p.getByLabel('Code', { exact: true }).fill(totp(VETERAN_SECRET, now));
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  await audit(p, 'page-account');
  await p.getByLabel('Current code', { exact: true }).fill(totp(VETERAN_SECRET, now + 30_000));
  await p.getByRole('button', { name: 'Make new recovery codes' }).click();
  await p.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  await audit(p, 'page-recovery-codes');
  await p.goto(`${base}/oauth/logout`);
  await p.getByRole('heading', { name: /signed out/i }).waitFor();
  await audit(p, 'page-signed-out');
  await ctx.close();

  // A person without one sets an authenticator app up.
  {
    const { ctx, p } = await freshPage();
    await p.goto(`${base}/account`);
    await signIn(p, 'student@sandbox.test');
    await p.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await p.getByRole('heading', { name: /authenticator/i }).first().waitFor();
    await audit(p, 'page-totp-setup');
    await ctx.close();
  }

  // A case in review and a reviewer who takes it.
  {
    const { ctx, p } = await freshPage();
    await p.goto(`${base}/account/verifications/student`);
    await signIn(p, 'unverified@sandbox.test');
    await p.getByLabel('Kind of document').selectOption('student_id');
    await p.getByLabel('Files').setInputFiles([{ name: 'card.png', mimeType: 'image/png', buffer: PNG_1PX }]);
    await p.getByRole('button', { name: 'Upload for review' }).click();
    await p.getByText('Your documents are in review.').waitFor();
    await ctx.close();
  }
  const granted = await fetch(`${base}/api/admin/v1/users/multi@sandbox.test/roles/reviewer`, {
    method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(granted.status, 200);
  const { ctx: rctx, p: r } = await freshPage();
  await r.goto(`${base}/review`);
  await signIn(r, 'multi@sandbox.test');
  await r.getByRole('heading', { name: 'Review queue' }).waitFor();
  await audit(r, 'page-review-queue');
  await r.getByRole('button', { name: 'Take the next case' }).click();
  // The oldest case first: the military papers from the test above, or this student card alone.
  await r.waitForURL(/\/review\/cases\/[0-9a-f]+$/);
  await r.getByRole('heading', { name: /Military: DD-214|Student: Student ID card/ }).waitFor();
  await audit(r, 'page-review-case');
  await rctx.close();
});

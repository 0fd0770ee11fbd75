// Browser test of the developer console (issue 4): a person signs up, creates an organization and
// an app, copies the credentials, invites a member, rotates the secret; then a user signs in to an
// outside client with those credentials. A real `verity serve --sandbox` on a free port, Debian's
// chromium driven by playwright-core. Screenshots of each page go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import {
  ADMIN_TOKEN, audit, launchChromium, shot, shots, startSandbox, totp,
} from './support.mjs';

const CALLBACK = 'http://127.0.0.1:8090/callback';
let provider, base, browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  provider = await startSandbox('console');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

test('an integrator registers an app in the console and a user signs in with it', async () => {
  // Clipboard access, for the copy buttons (a person's browser asks nothing for a click).
  const ctx = await browser.newContext({
    viewport: { width: 1100, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await ctx.newPage();

  // Sign up on the way into the console: the sign-in page says where it leads.
  await page.goto(`${base}/developer`);
  assert.match(await page.textContent('main'), /to continue to the developer console/);
  assert.doesNotMatch(await page.textContent('main'), /Your Verity account/);
  await shot(page, '01-sign-in');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await shot(page, '02-sign-up');
  await page.getByLabel('Email').fill('integrator@example.test');
  await page.getByLabel('Password', { exact: false }).first().fill('integrator-password');
  await page.getByLabel('Confirm password').fill('integrator-password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${base}/developer`);
  await shot(page, '03-console-home');
  assert.match(await page.textContent('body'), /integrator@example\.test/);
  await audit(page, 'console-home');

  // An organization: its page is headed by its name, and the breadcrumb names it.
  await page.getByLabel('New organization name').fill('Acme Benefits');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/developer\/orgs\/[0-9a-f]{32}$/);
  await page.getByRole('heading', { name: 'Acme Benefits', level: 1 }).waitFor();
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Acme Benefits' }).waitFor();
  await shot(page, '04-organization');
  await audit(page, 'console-org');

  // An app. The policies say what none means; the long IAL2 handle wraps inside the form.
  await page.getByRole('link', { name: 'Register a new app' }).click();
  assert.match(await page.textContent('#policies-hint'), /Choose at least one/);
  assert.match(await page.textContent('#app-form'), /Response format/);
  assert.match(await page.textContent('#profile-hint'), /openidconnect in Rust, oidc-client-ts in JavaScript\) expect standard OpenID Connect/);
  assert.match(await page.textContent('#app-form'), /Signed userinfo answers \(userinfo_signed_response_alg/);
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    const fits = await page.evaluate(() => {
      const fieldset = document.getElementById('policies');
      const handle = [...fieldset.querySelectorAll('code')].find((c) => c.textContent.includes('ial/2'));
      const box = handle.getBoundingClientRect();
      const outer = fieldset.getBoundingClientRect();
      return box.right <= outer.right && fieldset.scrollWidth <= fieldset.clientWidth;
    });
    assert.ok(fits, `the IAL2 policy handle stays inside its fieldset at ${width} px`);
  }
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.locator('#name').fill('Acme Veteran Discounts');
  await page.locator('#redirect_uris').fill(CALLBACK);
  await page.getByRole('checkbox', { name: /^OpenID / }).check();
  await page.getByRole('checkbox', { name: /^Military / }).check();
  await page.getByLabel('Refresh tokens allowed').check();
  await shot(page, '05-new-app-form');
  await audit(page, 'console-new-app');
  await page.getByRole('button', { name: 'Register app' }).click();
  await shot(page, '06-credentials');
  const clientId = (await page.textContent('#cred-client-id')).trim();
  const firstSecret = (await page.textContent('#cred-client-secret')).trim();
  assert.match(clientId, /^[0-9a-f]{32}$/);
  assert.match(firstSecret, /^[0-9a-f]{64}$/);
  assert.equal(await page.locator('#no-policy-warning').count(), 0);
  await audit(page, 'console-credentials');

  // Copy buttons: the clipboard holds the value, the button and the live region say so.
  const copyId = page.getByRole('button', { name: 'Copy client ID' });
  await copyId.click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.textContent('#copy-status'), 'Client ID copied to the clipboard.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), clientId);
  await page.getByRole('button', { name: 'Copy client secret' }).click();
  await page.getByText('Client secret copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), firstSecret);
  await shot(page, '06b-credentials-copied');

  // Invite a member, from the organization the breadcrumb names.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Acme Benefits' }).click();
  await page.getByLabel('Invite by email').fill('colleague@example.test');
  await page.getByLabel('Role').selectOption('admin');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.waitForURL(/\/developer\/orgs\/[0-9a-f]{32}\?invited=/);
  assert.equal(await page.getByRole('status').textContent(), 'Invitation sent to colleague@example.test as admin.');
  assert.match(await page.textContent('body'), /colleague@example\.test/);
  await shot(page, '07-member-invited');
  await audit(page, 'console-invitation-sent');

  // Edit the app: Save says so.
  await page.getByRole('link', { name: 'Acme Veteran Discounts' }).click();
  await shot(page, '08-app-settings');
  await audit(page, 'console-app-edit');
  await page.getByLabel('Access token and ID token').fill('600');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/\?done=saved$/);
  assert.equal(await page.getByRole('status').textContent(), 'Saved.');
  assert.equal(await page.getByLabel('Access token and ID token').inputValue(), '600');
  await shot(page, '08b-app-saved');

  // Rotate the secret: both stay valid until the old one is deleted. The list says when in words.
  await page.getByRole('button', { name: 'Add a new secret' }).click();
  const secret = (await page.textContent('#cred-client-secret')).trim();
  assert.notEqual(secret, firstSecret);
  await shot(page, '09-new-secret');
  await page.getByRole('link', { name: "Continue to the app's settings" }).click();
  const secretsText = await page.locator('table').first().textContent();
  assert.doesNotMatch(secretsText, /\b1\d{9}\b/, 'no Unix seconds');
  assert.match(secretsText, /\d{4}/);

  // An app registered without a policy: a clear warning on its credentials.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Acme Benefits' }).click();
  await page.getByRole('link', { name: 'Register a new app' }).click();
  await page.locator('#name').fill('Acme Without Policy');
  await page.locator('#redirect_uris').fill(CALLBACK);
  await page.getByRole('button', { name: 'Register app' }).click();
  assert.match(await page.textContent('#no-policy-warning'), /This app has no policy/);
  await audit(page, 'console-credentials-no-policy');

  // The audit log: who by email, when in words, the table inside its card at 1280 px.
  await page.goto(`${base}/developer/apps/${clientId}/audit`);
  const log = await page.textContent('table.audit');
  assert.match(log, /integrator@example\.test/);
  assert.doesNotMatch(log, /\b1\d{9}\b/, 'no Unix seconds');
  await page.setViewportSize({ width: 1280, height: 900 });
  const fit = await page.evaluate(() => {
    const region = document.querySelector('.table-scroll');
    const card = document.querySelector('main').getBoundingClientRect();
    const table = region.querySelector('table').getBoundingClientRect();
    return { scroll: region.scrollWidth - region.clientWidth, over: table.right - card.right };
  });
  assert.ok(fit.scroll <= 0 && fit.over <= 0, `the audit table fits its card at 1280 px: ${JSON.stringify(fit)}`);
  const region = page.getByRole('region', { name: /events of Acme Veteran Discounts/ });
  assert.equal(await region.getAttribute('tabindex'), '0');
  await audit(page, 'console-audit-log');

  // Sign out: the session ends and the browser lands on the sign-in for the console.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  assert.match(await page.textContent('main'), /to continue to the developer console/);
  await shot(page, '09b-signed-out');
  const again = await page.request.get(`${base}/developer`, { maxRedirects: 0 });
  assert.equal(again.status(), 303, 'the console asks to sign in again');
  await ctx.close();

  // A user signs in to an outside client with those credentials.
  const user = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await user.newPage();
  let callback;
  await p.route('http://127.0.0.1:8090/**', async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' });
  });
  const authorize = new URL(`${base}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    client_id: clientId, redirect_uri: CALLBACK, response_type: 'code',
    scope: 'openid military', state: 'e2e-state', nonce: 'e2e-nonce',
  }).toString();
  await p.goto(authorize.toString());
  await shot(p, '10-user-sign-in-phone');
  await p.getByLabel('Email').fill('veteran@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByLabel('Code').fill(totp('JBSWY3DPEHPK3PXP'));
  await shot(p, '11-user-mfa-phone');
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('button', { name: 'Allow' }).waitFor();
  await shot(p, '12-user-consent-phone');
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);
  assert.equal(callback.searchParams.get('state'), 'e2e-state');
  const code = callback.searchParams.get('code');
  assert.match(code, /^[0-9a-f]{32}$/);
  const resp = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK }),
  });
  assert.equal(resp.status, 200);
  const tokens = await resp.json();
  assert.ok(tokens.id_token && tokens.access_token && tokens.refresh_token);
  const attrs = await (await fetch(`${base}/api/public/v3/attributes.json`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.deepEqual(attrs.status, [{ group: 'military', subgroups: ['Veteran'], verified: true }]);
  await user.close();
});

// Issue 20: a person verifies their government status on Verity's own pages with a code sent to
// their .gov address, and lands back at the app with the group verified.
test('a person verifies government status with a code sent to a .gov address', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  let callback;
  await p.route('http://127.0.0.1:8090/**', async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' });
  });
  const authorize = new URL(`${base}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    client_id: 'sandbox-confidential', redirect_uri: CALLBACK, response_type: 'code',
    scope: 'openid government', state: 'gov-state', nonce: 'gov-nonce',
  }).toString();
  await p.goto(authorize.toString());
  await p.getByLabel('Email').fill('unverified@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { name: 'Verification needed' }).waitFor();
  await shot(p, '20-verification-needed-phone');
  await p.getByRole('link', { name: /verify with your email/ }).click();
  await p.getByLabel('Email address').waitFor();
  await p.getByLabel('Email address').fill('jane.doe@example.com');
  await p.getByRole('button', { name: 'Send the code' }).click();
  assert.match(await p.textContent('#email-error'), /Use an address at \*\.gov or \*\.mil/);
  await shot(p, '21-verify-email-refused-phone');
  await p.getByLabel('Email address').fill('jane.doe@va.gov');
  await p.getByRole('button', { name: 'Send the code' }).click();
  await p.getByLabel('Code from the email').waitFor();
  await shot(p, '22-verify-code-phone');
  // The sandbox shows the mail Verity sent on a page of its own, as an integrator reads it.
  const outboxPage = await ctx.newPage();
  await outboxPage.goto(`${base}/sandbox/outbox`);
  await outboxPage.getByText('To jane.doe@va.gov').first().waitFor();
  const newest = await outboxPage.locator('li.case').first().textContent();
  const code = newest.match(/Your verification code: (\d{6})/)[1];
  await shot(outboxPage, '33-sandbox-outbox-phone');
  await outboxPage.close();
  await p.getByLabel('Code from the email').fill(code === '000000' ? '111111' : '000000');
  await p.getByRole('button', { name: 'Verify' }).click();
  assert.match(await p.textContent('#code-error'), /That code is not right/);
  await shot(p, '23-verify-code-wrong-phone');
  await p.getByLabel('Code from the email').fill(code);
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('button', { name: 'Allow' }).waitFor();
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);
  assert.equal(callback.searchParams.get('state'), 'gov-state');
  const resp = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from('sandbox-confidential:sandbox-secret').toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: CALLBACK }),
  });
  assert.equal(resp.status, 200);
  const tokens = await resp.json();
  const attrs = await (await fetch(`${base}/api/public/v3/attributes.json`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.deepEqual(attrs.status, [{ group: 'government', subgroups: [], verified: true }]);
  // The person's own list of verifications, in words.
  await p.goto(`${base}/account/verifications`);
  await p.getByRole('heading', { name: 'Government Employee: Verified' }).waitFor();
  // The date in words, said by the browser in its own language and time zone.
  assert.match(await p.textContent('body'),
    /By a code sent to jane\.doe@va\.gov, started ([A-Z][a-z]+ \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})/);
  await shot(p, '24-account-verifications-phone');
  await ctx.close();
});

// A person starts at the app with `scope`, signs in as `email`, and uploads `files` for `group`
// on Verity's own pages; then goes on to the app without it. Returns the page and the request.
async function uploadForReview(ctx, { email, scope, group, documentType, files, shots: names = [] }) {
  const p = await ctx.newPage();
  await p.route('http://127.0.0.1:8090/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' }));
  const authorize = new URL(`${base}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    client_id: 'sandbox-confidential', redirect_uri: CALLBACK, response_type: 'code',
    scope, state: `${group}-state`, nonce: `${group}-nonce`,
  }).toString();
  await p.goto(authorize.toString());
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { name: 'Verification needed' }).waitFor();
  await p.getByRole('button', { name: 'Continue without verifying' }).waitFor();
  // The sandbox's instant choice stays; the real methods are one page away.
  await p.goto(`${p.url()}/verify/${group}`);
  await p.getByLabel('Kind of document').selectOption(documentType);
  await p.getByLabel('Files').setInputFiles(files);
  if (names[0]) await shot(p, names[0]);
  await p.getByRole('button', { name: 'Upload for review' }).click();
  await p.getByText('Your documents are in review.').waitFor();
  if (names[1]) await shot(p, names[1]);
  await p.getByRole('button', { name: 'Continue without it for now' }).click();
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);
  return { p, authorize };
}

// A reviewer's browser (desktop), signed in at /review as `email`, who was given the role
// through the admin API.
async function reviewer(email) {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const granted = await fetch(`${base}/api/admin/v1/users/${email}/roles/reviewer`, { method: 'PUT', headers: admin });
  assert.equal(granted.status, 200);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const r = await ctx.newPage();
  await r.goto(`${base}/review`);
  await r.getByLabel('Email').fill(email);
  await r.getByLabel('Password').fill('sandbox-password');
  await r.getByRole('button', { name: 'Sign in', exact: true }).click();
  await r.getByRole('heading', { name: 'Review queue' }).waitFor();
  return { ctx, r };
}

const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64');

// Issue 20: a person uploads a DD-214 for military; it waits in review while they go on to the
// app; a reviewer claims it at /review, looks at the files and approves it with subgroup Veteran;
// the person's next sign-in carries it.
test('a person uploads a DD-214 and a reviewer approves it', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const { p, authorize } = await uploadForReview(ctx, {
    email: 'student@sandbox.test', scope: 'openid military', group: 'military', documentType: 'dd214',
    files: [
      { name: 'dd214.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n% a discharge paper\n%%EOF\n') },
      { name: 'dd214-page2.png', mimeType: 'image/png', buffer: PNG_1PX },
    ],
    shots: ['25-upload-documents-phone', '26-in-review-phone'],
  });

  const { ctx: rctx, r } = await reviewer('multi@sandbox.test');
  assert.match(await r.textContent('body'), /DD-214 \(discharge papers\)/);
  await shot(r, '28-review-queue');
  await r.getByRole('button', { name: 'Take the next case' }).click();
  await r.getByRole('heading', { name: /Military: DD-214/ }).waitFor();
  await r.getByRole('img', { name: /Document \(image\) sent by the person/ }).waitFor();
  const pdf = r.getByRole('link', { name: /Open the Document \(PDF\)/ });
  const opened = await r.request.get(new URL(await pdf.getAttribute('href'), base).toString());
  assert.equal(opened.status(), 200);
  assert.equal(opened.headers()['cache-control'], 'no-store, private');
  assert.match((await opened.body()).toString(), /^%PDF-1\.7/);
  await shot(r, '29-review-case');
  await r.getByLabel('Veteran').check();
  await r.getByRole('button', { name: 'Approve' }).click();
  await r.getByText('Approved. The person has been told.').waitFor();
  await shot(r, '30-review-approved');
  await rctx.close();

  // Signed in and consented already: the authorization answers with the redirect at once. It is
  // read with the page's own cookies, without navigating to the app's (absent) redirect URI.
  const again = await p.request.get(authorize.toString(), { maxRedirects: 0 });
  assert.equal(again.status(), 302);
  const callback = new URL(again.headers()['location']);
  assert.equal(callback.searchParams.get('state'), 'military-state');
  const resp = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from('sandbox-confidential:sandbox-secret').toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: CALLBACK }),
  });
  const tokens = await resp.json();
  const attrs = await (await fetch(`${base}/api/public/v3/attributes.json`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.deepEqual(attrs.status, [{ group: 'military', subgroups: ['Veteran'], verified: true }]);
  await p.goto(`${base}/account/verifications`);
  await p.getByRole('heading', { name: 'Military: Verified' }).waitFor();
  await shot(p, '27-account-verified-by-review-phone');
  await ctx.close();
});

// Issue 20: a reviewer rejects a student's documents as unreadable; the person reads the reason on
// /account/verifications.
test('a rejected case shows its reason on the person\'s verifications page', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const { p } = await uploadForReview(ctx, {
    email: 'unverified@sandbox.test', scope: 'openid student', group: 'student',
    documentType: 'student_id',
    files: [{ name: 'card.png', mimeType: 'image/png', buffer: PNG_1PX }],
  });
  const { ctx: rctx, r } = await reviewer('multi@sandbox.test');
  await r.getByRole('button', { name: 'Take the next case' }).click();
  await r.getByRole('heading', { name: /Student: Student ID card/ }).waitFor();
  await r.getByLabel('Why (the person reads this)').selectOption('unreadable');
  await shot(r, '31-review-reject');
  await r.getByRole('button', { name: 'Reject' }).click();
  await r.getByText('Rejected. The person has been told why.').waitFor();
  await rctx.close();

  await p.goto(`${base}/account/verifications`);
  await p.getByRole('heading', { name: 'Student: Not accepted' }).waitFor();
  // From the list, the person can start again outside any app.
  await p.getByRole('link', { name: 'Verify Student' }).click();
  await p.getByRole('heading', { name: 'Verify your Student status' }).waitFor();
  await shot(p, '34-account-start-verification-phone');
  await p.goto(`${base}/account/verifications`);
  assert.match(await p.textContent('body'), /The documents could not be read\. Upload clearer copies\./);
  await shot(p, '32-account-rejected-phone');
  await ctx.close();
});

// Issue 21: response_mode=form_post. After the consent page the browser receives a page whose
// form it posts to the app at once: the page's one script runs under its CSP (by hash).
test('form_post delivers the code as a form the browser posts to the app', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p = await ctx.newPage();
  let posted;
  await p.route('http://127.0.0.1:8090/**', async (route) => {
    const req = route.request();
    posted = { method: req.method(), body: req.postData() ?? '' };
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>outside client</p>' });
  });
  const authorize = new URL(`${base}/oauth/authorize`);
  authorize.search = new URLSearchParams({
    client_id: 'sandbox-confidential', redirect_uri: CALLBACK, response_type: 'code',
    scope: 'openid student', state: 'fp-state', nonce: 'fp-nonce', response_mode: 'form_post',
  }).toString();
  await p.goto(authorize.toString());
  await p.getByLabel('Email').fill('student@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(/127\.0\.0\.1:8090\/callback/);
  assert.equal(posted.method, 'POST');
  const fields = new URLSearchParams(posted.body);
  assert.equal(fields.get('state'), 'fp-state');
  assert.match(fields.get('code') ?? '', /^[0-9a-f]{32}$/);
  assert.equal(fields.get('iss'), `${base}/oidc`);
  await ctx.close();
});

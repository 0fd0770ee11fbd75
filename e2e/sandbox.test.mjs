// Browser tests of the sandbox's own pages (issue 26): the verification page tells the student
// persona, before "Complete the sandbox verification", that identity at IAL2/AAL2 will still read
// "not verified" without an authenticator app, and leads to where one is added; the outbox shows
// a code sent to a *.gov address. A real `verity serve --sandbox` on a free port, Debian's
// chromium driven by playwright-core. Every page is audited (axe-core, 1280 and 375 px);
// screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { audit, launchChromium, startSandbox } from './support.mjs';

const IAL2 = 'http://idmanagement.gov/ns/assurance/ial/2/aal/2';
let provider, base, browser;

before(async () => {
  provider = await startSandbox('sandbox');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

// The sandbox app's authorization request for `scope`.
function authorize(scope) {
  const q = new URLSearchParams({
    client_id: 'sandbox-confidential',
    redirect_uri: 'http://127.0.0.1:8090/callback',
    response_type: 'code',
    scope,
    state: 's',
    nonce: 'n',
  });
  return `${base}/oauth/authorize?${q}`;
}

// A fresh browser signed in as the student up to the verification page for `scope`.
async function studentAtVerification(scope) {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.goto(authorize(scope));
  await p.getByLabel('Email').fill('student@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { name: 'Verification needed' }).waitFor();
  return { ctx, p };
}

test('the sandbox verification page says why identity stays not verified, and how to fix it', async () => {
  const { ctx, p } = await studentAtVerification(`openid ${IAL2}`);
  const notice = p.locator('#second-factor-needed');
  assert.match(await notice.textContent(), /Your identity will still show as not verified/);
  assert.match(await notice.textContent(), /two-step verification/);
  const button = p.getByRole('button', { name: 'Complete the sandbox verification' });
  assert.equal(await button.getAttribute('aria-describedby'), 'second-factor-needed');
  await audit(p, '80-sandbox-verify-identity');

  // The way to add the factor: the account page, this session signed in, sets one up.
  await p.getByRole('link', { name: 'add an authenticator app on your account page' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  await p.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await p.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
  await ctx.close();

  // Completing the sandbox verification without it: the consent page reads "not verified", as
  // the page said it would.
  const again = await studentAtVerification(`openid ${IAL2}`);
  await again.p.getByRole('button', { name: 'Complete the sandbox verification' }).click();
  await again.p.getByRole('heading', { name: /Share with/ }).waitFor();
  assert.match(await again.p.textContent('.policies'), /Identity Verification \(IAL2\/AAL2\).*\(not verified\)/s);
  await again.ctx.close();
});

test('a group verification says nothing about a second factor; its code is on the outbox', async () => {
  const { ctx, p } = await studentAtVerification('openid government');
  assert.equal(await p.locator('#second-factor-needed').count(), 0);
  await audit(p, '81-sandbox-verify-group');

  await p.getByRole('link', { name: /verify with your email/ }).click();
  await p.getByLabel('Email address').fill('sam.chen@agency.gov');
  await p.getByRole('button', { name: 'Send the code' }).click();
  await p.getByText('We sent a 6-digit code to').waitFor();

  const outbox = await ctx.newPage();
  await outbox.goto(`${base}/sandbox/outbox`);
  await outbox.getByRole('heading', { name: 'Sandbox outbox' }).waitFor();
  const mail = outbox.locator('.case').first();
  assert.match(await mail.textContent(), /To sam\.chen@agency\.gov/);
  assert.doesNotMatch(await mail.textContent(), /\b1[0-9]{9}\b/, 'no Unix seconds');
  const sent = mail.locator('time');
  assert.match(await sent.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/, 'when it was sent, as a <time>');
  await audit(outbox, '82-sandbox-outbox');
  await ctx.close();
});

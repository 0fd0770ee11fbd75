// A forgotten password and the confirmation of the sign-in email (issue 23), in real Chromium against a real `verity serve --sandbox`:
// a person signs up, signs out, follows "Forgot your password?" from the sign-in page, asks for
// a link, opens it from the outbox (the mail the provider wrote), is refused with two different
// passwords (the message beside the field), chooses a new one, finds the link used after that,
// and signs in with the new password only. Every page goes through `audit` (axe-core at 1280
// and 375 px, screenshots `password-reset-*`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { audit, launchChromium, startSandbox } from './support.mjs';

let provider, base, browser;

before(async () => {
  provider = await startSandbox('password-reset');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

// The links to `path` mailed to `to`, as the outbox holds them.
function mailedLinks(to, path) {
  const dir = join(provider.dataDir, 'outbox');
  let names = [];
  try { names = readdirSync(dir); } catch { return []; }
  return names
    .map((n) => readFileSync(join(dir, n), 'utf8'))
    .filter((m) => m.includes(`To: ${to}\r\n`))
    .flatMap((m) => [...m.matchAll(/(http:\/\/\S+?\?token=[0-9a-f]{32})/g)].map((x) => x[1]))
    .filter((link) => new URL(link).pathname === path);
}

const resetLinks = (to) => mailedLinks(to, '/account/password/reset');

test('a person resets a forgotten password through the mailed link, once', async () => {
  const email = `forgetful-${Date.now()}@example.com`;
  const old = 'correct horse battery staple';
  const next = 'a fresh and longer passphrase';

  // An account to forget the password of.
  const signup = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const s = await signup.newPage();
  await s.goto(`${base}/account`);
  await s.getByRole('link', { name: 'Create an account' }).click();
  await s.getByLabel('Email').fill(email);
  await s.getByLabel('Password', { exact: true }).fill(old);
  await s.getByLabel('Confirm password').fill(old);
  await s.getByRole('button', { name: 'Create account' }).click();
  await s.getByRole('heading', { name: 'Your account' }).waitFor();
  await signup.close();

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  await p.goto(`${base}/account`);
  await p.getByRole('link', { name: 'Forgot your password?' }).click();
  await p.getByRole('heading', { name: 'Reset your password' }).waitFor();
  await audit(p, 'password-reset-forgot');

  await p.getByLabel('Email').fill(email);
  await p.getByRole('button', { name: 'Email me a link' }).click();
  await p.getByRole('heading', { name: 'Check your email' }).waitFor();
  assert.match(await p.textContent('[role=status]'), /If an account exists for that address/);
  await audit(p, 'password-reset-sent');

  const links = resetLinks(email);
  assert.equal(links.length, 1, `one reset link to ${email}`);
  await p.goto(links[0]);
  await p.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await p.getByLabel('New password', { exact: false }).first().fill(next);
  await p.getByLabel('New password again').fill('something else entirely');
  await p.getByRole('button', { name: 'Change my password' }).click();
  await p.locator('#password_confirm-error').waitFor();
  assert.match(await p.textContent('#password_confirm-error'), /do not match/);
  const again = p.getByLabel('New password again');
  assert.equal(await again.getAttribute('aria-invalid'), 'true');
  assert.equal(await again.getAttribute('aria-describedby'), 'password_confirm-error');
  await audit(p, 'password-reset-form-error');

  await p.getByLabel('New password', { exact: false }).first().fill(next);
  await p.getByLabel('New password again').fill(next);
  await p.getByRole('button', { name: 'Change my password' }).click();
  await p.getByRole('heading', { name: 'Your password was changed' }).waitFor();
  await audit(p, 'password-reset-done');

  // The link worked once.
  const used = await p.goto(links[0]);
  assert.equal(used.status(), 410);
  await p.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
  await audit(p, 'password-reset-expired');
  await p.getByRole('link', { name: 'Ask for a new link' }).click();
  await p.getByRole('heading', { name: 'Reset your password' }).waitFor();

  // A fresh browser: the old password is refused, the new one signs in.
  const fresh = await browser.newContext();
  const q = await fresh.newPage();
  await q.goto(`${base}/account`);
  await q.getByLabel('Email').fill(email);
  await q.getByLabel('Password').fill(old);
  await q.getByRole('button', { name: 'Sign in' }).click();
  await q.locator('#password-error', { hasText: 'The email or password is incorrect.' }).waitFor();
  await q.getByLabel('Password').fill(next);
  await q.getByRole('button', { name: 'Sign in' }).click();
  await q.getByRole('heading', { name: 'Your account' }).waitFor();
  await fresh.close();
  await ctx.close();
});

test('a new account confirms its email from the mailed link; the account page says so', async () => {
  const email = `confirming-${Date.now()}@example.com`;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  await p.goto(`${base}/account`);
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await p.getByLabel('Confirm password').fill('correct horse battery staple');
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  await p.getByRole('button', { name: 'Send the link again' }).waitFor();
  await audit(p, 'email-unconfirmed-account');

  const links = mailedLinks(email, '/account/email/confirm');
  assert.equal(links.length, 1, `one confirmation link to ${email}`);
  await p.goto(links[0]);
  await p.getByRole('heading', { name: 'Your email is confirmed' }).waitFor();
  await audit(p, 'email-confirmed');
  await p.getByRole('link', { name: 'Go to your account' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.match(await p.textContent('main'), /is confirmed\./);
  assert.equal(await p.getByRole('button', { name: 'Send the link again' }).count(), 0);
  await ctx.close();
});

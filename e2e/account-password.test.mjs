// Changing one's password (issue 23), in real Chromium against a real `verity serve --sandbox`:
// a person signs up, opens the change form (audited: axe-core at 1280 and 375 px, screenshots
// `account-password-*`), is refused with a wrong current password and with two different new
// ones (each message beside its field, nothing changed), then changes it, sees it said on the
// account page, and signs in again with the new password only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { audit, launchChromium, startSandbox } from './support.mjs';

let provider, base, browser;

before(async () => {
  provider = await startSandbox('account-password');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

test('a person changes their password, refused first with the reason beside each field', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  const email = `changer-${Date.now()}@example.com`;
  const old = 'correct horse battery staple';
  const next = 'a new and longer passphrase';

  await p.goto(`${base}/account`);
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password', { exact: true }).fill(old);
  await p.getByLabel('Confirm password').fill(old);
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();

  await p.getByRole('link', { name: 'Change your password' }).click();
  await p.getByRole('heading', { name: 'Change your password' }).waitFor();
  await audit(p, 'account-password');

  const fill = async (current, password, again) => {
    await p.getByLabel('Your current password').fill(current);
    await p.getByLabel('New password', { exact: false }).first().fill(password);
    await p.getByLabel('New password again').fill(again);
    await p.getByRole('button', { name: 'Change my password' }).click();
  };
  await fill('not my password', next, next);
  await p.locator('#current_password-error').waitFor();
  assert.match(await p.textContent('#current_password-error'), /not your current password/);
  const current = p.getByLabel('Your current password');
  assert.equal(await current.getAttribute('aria-invalid'), 'true');
  assert.equal(await current.getAttribute('aria-describedby'), 'current_password-error');

  await fill(old, next, 'something else entirely');
  await p.locator('#password_confirm-error').waitFor();
  assert.match(await p.textContent('#password_confirm-error'), /do not match/);
  await audit(p, 'account-password-mismatch');

  await fill(old, next, next);
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.match(await p.textContent('[role=status]'), /Your password was changed/);
  await audit(p, 'account-password-changed');

  // A fresh browser: the old password is refused, the new one signs in.
  const fresh = await browser.newContext();
  const q = await fresh.newPage();
  await q.goto(`${base}/account`);
  await q.getByLabel('Email').fill(email);
  await q.getByLabel('Password').fill(old);
  await q.getByRole('button', { name: 'Sign in', exact: true }).click();
  await q.locator('#password-error', { hasText: 'The email or password is incorrect.' }).waitFor();
  await q.getByLabel('Password').fill(next);
  await q.getByRole('button', { name: 'Sign in', exact: true }).click();
  await q.getByRole('heading', { name: 'Your account' }).waitFor();
  await fresh.close();
  await ctx.close();
});

// Deleting one's account (issue 29), in real Chromium against a real `verity serve --sandbox`:
// a person signs up, opens the delete confirmation page (audited: axe-core at 1280 and 375 px,
// screenshots `account-delete-*`), is refused with a wrong password (the message beside the
// field, nothing deleted), then deletes the account and sees that it is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { audit, launchChromium, startSandbox } from './support.mjs';

let provider, base, browser;

before(async () => {
  provider = await startSandbox('account-delete');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

test('a person reads what deletion does, is refused a wrong password, then deletes the account', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  const email = `leaver-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';

  await p.goto(`${base}/account`);
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByLabel('Confirm password').fill(password);
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  await audit(p, 'account-with-end-sessions');

  await p.getByRole('link', { name: 'Delete your account' }).click();
  await p.getByRole('heading', { name: 'Delete your account' }).waitFor();
  const main = await p.textContent('main');
  for (const said of [/attributes/, /documents you sent are destroyed/, /every token/,
    /without your email or network address/, /sign up again/]) {
    assert.match(main, said);
  }
  await audit(p, 'account-delete');

  await p.getByLabel('Your password').fill('not my password');
  await p.getByRole('button', { name: 'Delete my account' }).click();
  await p.locator('#password-error').waitFor();
  assert.equal(await p.textContent('#password-error'),
    'That password is not correct. Nothing was deleted.');
  const field = p.getByLabel('Your password');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.equal(await field.getAttribute('aria-describedby'), 'password-error');
  await audit(p, 'account-delete-wrong-password');

  // Still there: the account page opens without signing in again.
  await p.goto(`${base}/account`);
  await p.getByRole('heading', { name: 'Your account' }).waitFor();
  await p.goto(`${base}/account/delete`);

  await p.getByLabel('Your password').fill(password);
  await p.getByRole('button', { name: 'Delete my account' }).click();
  await p.getByRole('heading', { name: 'Your account is deleted' }).waitFor();
  await audit(p, 'account-deleted');

  // Gone: the account page asks to sign in, and the old password no longer works.
  await p.goto(`${base}/account`);
  await p.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.locator('#password-error', { hasText: 'The email or password is incorrect.' }).waitFor();
  await ctx.close();
});

// Browser tests of the sign-in's second step (issue 26, bugs 1 and 3): a person who lost their
// phone signs in with a recovery code, and a person who enters a code already used is told to wait
// for the next one (not that the code is wrong). A real `verity serve --sandbox` on a free port,
// Debian's chromium driven by playwright-core, a 375 px wide phone. Screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, shot, startSandbox, totp } from './support.mjs';

const SECRET = 'JBSWY3DPEHPK3PXP';
const PHONE = { viewport: { width: 375, height: 812 } };
let provider, base, browser;
// The code of the next time step, used once (to make recovery codes) by the first test.
let usedCode;
let recoveryCodes = [];

before(async () => {
  provider = await startSandbox('second-factor');
  base = provider.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  provider?.stop();
});

// Opens the account page in a fresh phone-sized browser and signs the veteran in up to the
// second step.
async function toSecondStep() {
  const ctx = await browser.newContext(PHONE);
  const p = await ctx.newPage();
  await p.goto(`${base}/account`);
  await p.getByLabel('Email').fill('veteran@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  return { ctx, p };
}

test('a person without their phone signs in with a recovery code', async () => {
  // The veteran makes recovery codes on the account page (signed in with this step's code, and
  // confirmed with the next step's code, which the server accepts as one step of drift).
  const now = Date.now();
  usedCode = totp(SECRET, now + 30_000);
  {
    const { ctx, p } = await toSecondStep();
    await p.getByLabel('Code', { exact: true }).fill(totp(SECRET, now));
    await p.getByRole('button', { name: 'Verify' }).click();
    await p.getByRole('heading', { name: 'Your account' }).waitFor();
    await p.getByLabel('Current code', { exact: true }).fill(usedCode);
    await p.getByRole('button', { name: 'Make new recovery codes' }).click();
    await p.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    recoveryCodes = (await p.locator('.recovery-codes code').allTextContents()).map((c) => c.trim());
    assert.equal(recoveryCodes.length, 10);
    assert.match(recoveryCodes[0], /^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    await ctx.close();
  }

  // Later, without the phone: the page says recovery codes are accepted, and takes one.
  const { ctx, p } = await toSecondStep();
  const field = p.getByLabel('Code', { exact: true });
  await field.fill(recoveryCodes[0]);
  assert.equal(await field.inputValue(), recoveryCodes[0], 'the whole recovery code fits');
  assert.ok(await field.evaluate((f) => f.checkValidity()), 'the browser lets the form go');
  assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
  const body = await p.textContent('body');
  assert.match(body, /Enter the 6-digit code from your authenticator app, or one of your recovery codes/);
  assert.match(body, /works only once/);
  await shot(p, '70-mfa-recovery-code-hint-phone');
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('heading', { name: 'Your account' }).waitFor({ timeout: 5_000 });
  assert.match(await p.textContent('body'), /veteran@sandbox\.test/);
  await ctx.close();
});

test('a code already used is told as used, with what to do next', async () => {
  assert.ok(usedCode, 'the first test used a code');
  const { ctx, p } = await toSecondStep();
  const field = p.getByLabel('Code', { exact: true });
  await field.fill(usedCode);
  await p.getByRole('button', { name: 'Verify' }).click();
  const error = p.locator('#code-error');
  await error.waitFor({ timeout: 5_000 });
  assert.match(
    await error.textContent(),
    /That code was already used\. Wait for the next code in your app \(a new one appears every 30 seconds\), then enter it\./,
  );
  assert.doesNotMatch(await p.textContent('body'), /not valid/);
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.match(await field.getAttribute('aria-describedby'), /\bcode-error\b/);
  await shot(p, '71-mfa-code-already-used-phone');

  // A recovery code works once: the one used above is refused now.
  await field.fill(recoveryCodes[0]);
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.locator('#code-error', { hasText: 'not valid' }).waitFor({ timeout: 5_000 });
  await ctx.close();
});

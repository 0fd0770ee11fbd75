// Browser tests of the reference app (`verity rp`, issue 26): bug 2 (Save threw edits away: a
// changed City came back as the verified value, with no message), the home page that knows the
// person, sign-out (the app's session and the provider's, by RP-initiated logout), and every page
// of the app through axe-core at 1280 and 375 px (screenshots rp-*-desktop.png and
// rp-*-phone.png in target/e2e/).
// A real `verity serve --sandbox` and `verity rp` on free ports, Debian's chromium driven by
// playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  admin as adminOf, audit, freePort, launchChromium, shots, start, startSandbox, totp,
} from './support.mjs';

const IDENTITY = 'http://idmanagement.gov/ns/assurance/ial/2/aal/2';
let provider, app, base, rpBase, browser, rpDir;
// One browser session for the whole file: the veteran's authenticator code is single-use, so
// the person signs in once and the tests follow one another as a person would.
let ctx, page;
const admin = (...args) => adminOf(base, ...args);

before(async () => {
  mkdirSync(shots, { recursive: true });
  rpDir = mkdtempSync(join(tmpdir(), 'verity-e2e-rp-'));
  provider = await startSandbox('reference-app');
  base = provider.base;

  // The app registered as an integrator would: its redirect URI, and its home page as where the
  // provider may send the browser after sign-out.
  const port = await freePort();
  const home = `http://127.0.0.1:${port}/`;
  const org = await admin('POST', '/organizations', { name: 'Reference app E2E' });
  const created = await admin('POST', `/organizations/${org.id}/apps`, {
    name: 'Reference app',
    redirect_uris: [`${home}callback`],
    post_logout_redirect_uris: [home],
    policies: ['openid', IDENTITY, 'military'],
    public: false,
    refresh_tokens: false,
  });
  assert.ok(created.client_id && created.client_secret);

  const rp = start(['rp'], {
    VERITY_RP_ISSUER: `${base}/oidc`,
    VERITY_RP_CLIENT_ID: created.client_id,
    VERITY_RP_CLIENT_SECRET: created.client_secret,
    VERITY_RP_REDIRECT_URI: `${home}callback`,
    VERITY_RP_SCOPES: `openid ${IDENTITY} military`,
    VERITY_RP_PROVIDER_NAME: 'Verity',
    VERITY_LISTEN: `127.0.0.1:${port}`,
    VERITY_DATA_DIR: rpDir,
    // The app's own SQLite file in its data directory, whatever the environment says.
    DATABASE_URL: `sqlite://${join(rpDir, 'verity-rp.db')}`,
  }, /The reference app is ready: (http:\/\/[^\s]+?)\/?\s/, 'verity rp');
  app = rp.child;
  rpBase = await rp.match;

  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  app?.kill('SIGTERM');
  provider?.stop();
  if (rpDir) rmSync(rpDir, { recursive: true, force: true });
});

// The numbers of a computed colour ("rgb(r, g, b)" or "rgba(r, g, b, a)").
const rgba = (css) => {
  const [r, g, b, a = 1] = css.match(/\d+(\.\d+)?/g).map(Number);
  return { r, g, b, a };
};

// WCAG contrast ratio of `fg` (blended over `bg` when translucent) against the opaque `bg`.
function contrast(fg, bg) {
  const back = rgba(bg);
  const front = rgba(fg);
  const seen = ['r', 'g', 'b'].map((k) => front[k] * front.a + back[k] * (1 - front.a));
  const lum = ([r, g, b]) => [r, g, b].map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(seen), lum([back.r, back.g, back.b])].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
// The old provider ring (35 %-alpha blue on white) is about 1.5:1; a sanity check of the sum.
assert.ok(contrast('rgba(31, 111, 235, 0.35)', 'rgb(255, 255, 255)') < 2);

// From the app's home page through the provider's pages back to the app's profile.
async function signInAsVeteran(p) {
  await p.getByRole('button', { name: 'Verify your identity' }).click();
  await p.getByLabel('Email').fill('veteran@sandbox.test');
  await p.getByLabel('Password').fill('sandbox-password');
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByLabel('Code', { exact: true }).fill(totp('JBSWY3DPEHPK3PXP'));
  await p.getByRole('button', { name: 'Verify' }).click();
  await p.getByRole('button', { name: 'Allow' }).click();
  await p.waitForURL(`${rpBase}/profile`);
}

test('bug 2: a changed City is saved, shown back after a reload, and said to be saved', async () => {
  await page.goto(`${rpBase}/`);
  await signInAsVeteran(page);
  const city = page.getByLabel('City', { exact: true });
  assert.equal(await city.inputValue(), 'Norfolk', 'pre-filled from the verified address');
  await audit(page, 'rp-profile');
  // The keyboard focus ring is solid and stands out from the panel at 3:1 or more (WCAG 1.4.11).
  await city.focus();
  const ring = await city.evaluate((el) => {
    const s = getComputedStyle(el);
    return {
      style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
      around: getComputedStyle(el.closest('.panel')).backgroundColor,
    };
  });
  assert.equal(ring.style, 'solid');
  assert.ok(ring.width >= 2, `outline ${ring.width}px`);
  assert.ok(contrast(ring.color, ring.around) >= 3, `${ring.color} on ${ring.around}`);

  await city.fill('Richmond');
  await page.getByRole('button', { name: 'Save' }).click();
  // The 303 lands on the profile with the message; the reload reads it again from the database.
  await page.waitForURL(`${rpBase}/profile?saved`);
  await page.getByRole('status').waitFor();
  await page.reload();
  assert.equal(await page.getByLabel('City', { exact: true }).inputValue(), 'Richmond',
    'the saved value, not the verified one');
  assert.equal((await page.getByRole('status').innerText()).trim(), 'Your details were saved.');
  // Which value is whose: the typed City names the verified one beside it.
  const source = await page.locator('#city-source').innerText();
  assert.match(source, /Yours/);
  assert.match(source, /Norfolk/);
  assert.match(await page.locator('#zip-source').innerText(), /Verified by Verity/);
  // Dates in words, in a <time> element the browser says in its own language and time zone
  // (the server's UTC words stay as its title); no Unix seconds.
  const when = page.locator('main time').first();
  assert.match(await when.innerText(), /^([A-Z][a-z]+ \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})$/);
  assert.match(await when.getAttribute('title'), /^\d{1,2} [A-Z][a-z]+ \d{4}$/);
  assert.match(await when.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.doesNotMatch(await page.locator('main').innerText(), /\b1[0-9]{9}\b/);
  await audit(page, 'rp-profile-saved');
});

test('the home page greets the person; Sign out ends the session here and at the provider', async () => {
  await page.goto(`${rpBase}/`);
  await page.getByRole('heading', { name: 'Hello, Jordan' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Verify your identity/ }).count(), 0);
  await audit(page, 'rp-home-signed-in');
  await page.getByRole('link', { name: 'See and edit your profile' }).click();
  await page.waitForURL(`${rpBase}/profile`);

  // Sign out from the profile page: through the provider's logout, back to the app's home.
  await Promise.all([
    page.waitForURL(`${rpBase}/`),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  await page.getByRole('heading', { name: 'Verify your identity' }).waitFor();
  await page.getByRole('button', { name: 'Verify your identity with Verity' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  await audit(page, 'rp-home-signed-out');

  // The app forgot the session ...
  await page.goto(`${rpBase}/profile`);
  assert.equal(page.url(), `${rpBase}/`);
  // ... and so did the provider: signing in again asks for the password.
  await page.getByRole('button', { name: 'Verify your identity with Verity' }).click();
  await page.getByLabel('Password').waitFor();
  assert.ok(page.url().startsWith(base), page.url());
});

test('the error pages speak to a person and pass the audit', async () => {
  // A browser that never started a sign-in here.
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await fresh.newPage();
  await page.goto(`${rpBase}/callback?code=stale&state=stale`);
  await page.getByRole('heading', { name: 'No sign-in in progress' }).waitFor();
  await page.getByRole('link', { name: 'Start again' }).waitFor();
  await audit(page, 'rp-error');

  const missing = await page.goto(`${rpBase}/no-such-page`);
  assert.equal(missing.status(), 404);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await audit(page, 'rp-not-found');
  await fresh.close();
});

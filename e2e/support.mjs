// What the browser tests share: where the verity binary and the screenshots are, starting a
// `verity` process on a free port, the admin API, a TOTP code, a free port, a screenshot, and
// Debian's chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, dirname, resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const shots = join(root, 'target', 'e2e');
export const binary =
  process.env.VERITY_BIN ??
  join(resolve(root, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug', 'verity');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
/// Cheap password hashing for tests (a setting) and the admin API on.
export const TEST_ENV = {
  VERITY_ARGON2_MEMORY_KIB: '1024',
  VERITY_ARGON2_ITERATIONS: '1',
  VERITY_ADMIN_TOKEN: ADMIN_TOKEN,
};
export const ISSUER_READY = /issuer (http:\/\/[^\s]+)\/oidc/;

// Starts `verity <args>` and resolves `match` with the first group of `ready` on its stdout.
export function start(args, env, ready, name) {
  const child = spawn(binary, args, {
    env: { ...process.env, VERITY_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(ready);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { child, match };
}

// Starts `verity serve --sandbox` on a free port with a data folder of its own (`name` marks
// it in the temporary folder). Returns its base URL, the process, the folder, and `stop()`, which
// ends the process and removes the folder.
export async function startSandbox(name, env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), `verity-e2e-${name}-`));
  const provider = start(['serve', '--sandbox'], {
    VERITY_LISTEN: '127.0.0.1:0',
    VERITY_DATA_DIR: dataDir,
    ...TEST_ENV,
    ...env,
  }, ISSUER_READY, 'verity serve');
  const stop = () => {
    provider.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    return { base: await provider.match, child: provider.child, dataDir, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

// Calls the admin API of the provider at `base`; fails the test on an error answer.
export async function admin(base, method, path, body) {
  const resp = await fetch(`${base}/api/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await resp.json();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) of a base32 secret.
export function totp(base32, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// A port the system just handed out (for a redirect URI that must name it before its app starts).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function shot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// axe-core's source, evaluated in the page through the DevTools protocol (the pages' CSP allows
// no script from elsewhere, and must not be loosened for a test).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const WIDTHS = { desktop: 1280, phone: 375 };

// Checks the page as it stands at 1280 px and at 375 px: a full-page screenshot of each
// (`<name>-desktop.png`, `<name>-phone.png`), axe-core's WCAG 2.1 A/AA and best-practice rules
// with no violation of impact serious or critical, and nothing wider than the phone's screen.
// Restores the viewport it found.
export async function audit(page, name) {
  const found = page.viewportSize();
  try {
    for (const [label, width] of Object.entries(WIDTHS)) {
      await page.setViewportSize({ width, height: label === 'phone' ? 740 : 900 });
      await shot(page, `${name}-${label}`);
      await page.evaluate(AXE_SOURCE);
      const violations = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return result.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3)
            .map((n) => n.target.join(' ')).join('\n    ')}`);
      });
      assert.deepEqual(violations, [], `${name} at ${width} px (${page.url()}):\n  ${violations.join('\n  ')}`);
      if (label === 'phone') {
        const wide = await page.evaluate(() => {
          const over = document.documentElement.scrollWidth - window.innerWidth;
          const culprit = [...document.body.querySelectorAll('*')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`)
            .slice(-3);
          return { over, culprit };
        });
        assert.ok(wide.over <= 0,
          `${name} is ${wide.over} px wider than a ${width} px screen (${wide.culprit.join(', ')})`);
      }
    }
  } finally {
    if (found) await page.setViewportSize(found);
  }
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// The example browser app: oidc-client-ts (https://github.com/authts/oidc-client-ts) does the
// protocol; this file only wires its UserManager to the page.
/* global oidc */
'use strict';

// This page, without its query: the redirect URI and the post-logout redirect URI both.
const here = new URL('./', window.location.href).href;
const settings = window.VERITY_CONFIG;
const manager = new oidc.UserManager({
  authority: settings.authority,
  client_id: settings.client_id,
  redirect_uri: here,
  post_logout_redirect_uri: here,
  response_type: 'code',
  scope: settings.scope,
  // The access token is sent to userinfo; its answer is merged into the profile.
  loadUserInfo: true,
  // Tokens live in this tab only, never in localStorage.
  userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  // No hidden iframes: refresh tokens (rotated by Verity at every use) renew the session.
  automaticSilentRenew: false,
});

const $ = (id) => document.getElementById(id);
// Claims that are times (seconds since 1970), shown as dates a person reads.
const TIMES = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString(undefined, {
    dateStyle: 'long',
    timeStyle: 'short',
  });
}

function show(user) {
  $('sign-in').hidden = Boolean(user);
  $('refresh').hidden = !user;
  $('sign-out').hidden = !user;
  $('profile').hidden = !user;
  if (!user) {
    $('status').textContent = 'You are not signed in.';
    return;
  }
  $('status').textContent = 'You are signed in.';
  const list = $('claims');
  list.replaceChildren();
  for (const [name, value] of Object.entries(user.profile)) {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    if (TIMES.has(name) && typeof value === 'number') {
      dd.textContent = when(value);
    } else {
      dd.textContent = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    list.append(dt, dd);
  }
  $('expiry').textContent = `The access token works until ${when(user.expires_at)}.`;
  $('expiry').dataset.accessToken = user.access_token.slice(-8);
}

function fail(error) {
  $('error').hidden = false;
  $('error').textContent = `Something went wrong: ${error.message ?? error}`;
}

async function start() {
  const params = new URLSearchParams(window.location.search);
  if (params.has('code') || params.has('error')) {
    // Back from Verity with a code (or an error): oidc-client-ts checks the state, redeems the
    // code with the PKCE verifier at the token endpoint and loads userinfo.
    await manager.signinRedirectCallback();
    window.history.replaceState({}, '', here);
  } else if (params.has('state')) {
    // Back from Verity's sign-out.
    await manager.signoutRedirectCallback();
    window.history.replaceState({}, '', here);
  }
  show(await manager.getUser());
}

$('sign-in').addEventListener('click', () => manager.signinRedirect().catch(fail));
$('refresh').addEventListener('click', async () => {
  try {
    // With a refresh token, oidc-client-ts posts a refresh_token grant (no iframe).
    show(await manager.signinSilent());
    $('status').textContent = 'You are signed in. The tokens were refreshed.';
  } catch (error) {
    fail(error);
  }
});
$('sign-out').addEventListener('click', () => manager.signoutRedirect().catch(fail));

start().catch(fail);

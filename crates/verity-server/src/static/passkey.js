// Passkeys (WebAuthn). A form with data-passkey="create" (add a passkey) or "get" (sign in, or
// the second step) first posts its fields to its data-options URL for the ceremony's options,
// runs the browser's ceremony, puts the answer (JSON, binary fields in base64url) in its hidden
// `credential` input, and then submits. Without WebAuthn the form says so and stays usable:
// the server answers a form without a passkey with a clear message.
(function () {
  'use strict';

  function fromB64u(text) {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64u(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = '';
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromB64u(c.id) }); });
  }

  function creationOptions(pk) {
    return Object.assign({}, pk, {
      challenge: fromB64u(pk.challenge),
      user: Object.assign({}, pk.user, { id: fromB64u(pk.user.id) }),
      excludeCredentials: withIds(pk.excludeCredentials),
    });
  }

  function requestOptions(pk) {
    return Object.assign({}, pk, {
      challenge: fromB64u(pk.challenge),
      allowCredentials: withIds(pk.allowCredentials),
    });
  }

  function created(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64u(r.attestationObject),
        clientDataJSON: toB64u(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function asserted(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64u(r.authenticatorData),
        clientDataJSON: toB64u(r.clientDataJSON),
        signature: toB64u(r.signature),
        userHandle: r.userHandle ? toB64u(r.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function say(form, text) {
    const status = form.querySelector('[data-passkey-status]');
    if (status) status.textContent = text;
  }

  async function ceremony(form) {
    const fields = new URLSearchParams(new FormData(form));
    fields.delete('credential');
    const resp = await fetch(form.dataset.options, {
      method: 'POST',
      body: fields,
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    });
    if (!resp.ok) throw new Error('options');
    const options = await resp.json();
    if (form.dataset.passkey === 'create') {
      const cred = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      return created(cred);
    }
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    return asserted(cred);
  }

  function setUp(form) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, 'This browser cannot use passkeys. Use a current browser, or another way to sign in.');
      return;
    }
    form.addEventListener('submit', async function (event) {
      if (form.dataset.answered) return;
      event.preventDefault();
      if (form.reportValidity && !form.reportValidity()) return;
      const button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      say(form, 'Follow your browser\u2019s prompt to use your passkey\u2026');
      try {
        const answer = await ceremony(form);
        form.querySelector('input[name=credential]').value = JSON.stringify(answer);
        form.dataset.answered = '1';
        form.submit();
      } catch (e) {
        if (button) { button.disabled = false; button.focus(); }
        say(form, e && e.name === 'NotAllowedError'
          ? 'The passkey request was cancelled or timed out. Try again when you are ready.'
          : e && e.name === 'InvalidStateError'
            ? 'This passkey is already registered to your account.'
            : 'The passkey could not be used. Reload the page and try again.');
      }
    });
  }

  document.querySelectorAll('form[data-passkey]').forEach(setUp);
})();

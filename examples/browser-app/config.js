// Where Verity is and which app this is. Register the app in the developer console (or
// `verity admin app-create`) as a *public* app with refresh tokens allowed, with this page's
// address (https://spa.example.com/) as its redirect URI and its post-logout redirect URI; its
// origin is then allowed to call the token and userinfo endpoints (CORS).
window.VERITY_CONFIG = {
  authority: 'http://127.0.0.1:8080/oidc',
  client_id: 'replace-with-your-client-id',
  scope: 'openid',
};

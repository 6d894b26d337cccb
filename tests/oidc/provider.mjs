// A real OpenID provider on 127.0.0.1 for the tests of signing in with a school account
// (tests/harness/oidc_provider.py starts it): the `oidc-provider` package, configured from a
// JSON file given as the one argument:
//
//   {"port": 0, "clients": [{"client_id", "client_secret", "redirect_uris"}],
//    "accounts": {"<login>": {"email", "email_verified"?, "groups"?, "amr"?, "acr"?,
//                             "id_token"?: {"claims"?: {...}, "clock_seconds"?: -600}}}}
//
// A person signs in on a minimal form (their login, no password: the accounts are the test's),
// and consent is taken as given. The ID token carries email, email_verified and groups, as Entra
// ID's does, and the amr/acr the account's sign-in used. An account's "id_token" makes the
// provider issue its ID tokens otherwise, still signed with its own key: with these claims (for
// another audience, say), or as if its clock were that many seconds off. Prints "listening <issuer>" once it answers.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'tests', use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['tests-only-cookie-key'] },
  claims: {
    // amr and acr as Entra ID sends them: in every ID token, not only when asked for
    openid: ['sub', 'groups', 'amr', 'acr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false, // the ID token says who it is, as Entra ID's and Google's do
  acrValues: ['http://schemas.openid.net/pape/policies/2007/06/multi-factor', 'pwd'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, email: account.email, name: id };
        if (account.email_verified !== undefined) claims.email_verified = account.email_verified;
        if (account.groups !== undefined) claims.groups = account.groups;
        return claims;
      },
    };
  },
  async loadExistingGrant(ctx) {
    // consent is taken as given: safeshare is the school's own application
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

// An account's ID tokens issued otherwise (see the top): re-signed with the provider's key.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const payload = decodeJwt(ctx.body.id_token);
  const change = accounts[payload.sub]?.id_token;
  if (!change) return;
  Object.assign(payload, change.claims || {});
  if (change.clock_seconds !== undefined) {
    for (const claim of ['iat', 'exp', 'auth_time']) {
      if (payload[claim] !== undefined) payload[claim] += change.clock_seconds;
    }
  }
  ctx.body.id_token = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .sign(privateKey);
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(res, uid, problem) {
  res.statusCode = problem ? 400 : 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html><html lang="en"><head><title>Test provider</title></head><body>
<h1>Test school account</h1>${problem ? `<p id="problem">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Login</label><input id="login" name="login" autofocus>
<button id="provider-sign-in" type="submit">Sign in</button></form></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const providerCallback = provider.callback();
server.on('request', async (req, res) => {
  const found = new URL(req.url, issuer).pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!found) {
    providerCallback(req, res);
    return;
  }
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      loginPage(res, details.uid);
      return;
    }
    const login = (await readForm(req)).get('login') || '';
    const account = accounts[login];
    if (!account) {
      loginPage(res, details.uid, 'No such account.');
      return;
    }
    const result = { login: { accountId: login, remember: false } };
    if (account.amr) result.login.amr = account.amr;
    if (account.acr) result.login.acr = account.acr;
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (err) {
    res.statusCode = 400;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`interaction failed: ${err.name}`);
  }
});

console.log(`listening ${issuer}`);

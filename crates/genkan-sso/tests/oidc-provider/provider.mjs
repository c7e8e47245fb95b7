// The OpenID provider of the genkan-sso tests: oidc-provider on 127.0.0.1 (port 0), one
// confidential client, sign-in completed without a form for the account named in
// login_hint, and a few test-only controls under /test/:
//   POST /test/account  {sub, email, email_verified, name, groups, amr, acr}  set an account
//   POST /test/rotate                      new signing key first in the set, old one kept
//   POST /test/tamper   {mode, claims}     the next token response's id_token is replaced
// Prints one JSON line {"issuer": ...} on stdout once listening.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { SignJWT, generateKeyPair, exportJWK, importJWK, decodeJwt, base64url } from 'jose';

const CLIENT_ID = process.env.OIDC_CLIENT_ID ?? 'genkan';
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET ?? 'genkan-test-secret';
const REDIRECT_URI = process.env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1:9/sso/oidc/callback';

const accounts = new Map();
let tamper = null;
const keys = []; // private JWKs, newest first

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `k-${randomBytes(6).toString('hex')}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  keys.unshift(jwk);
}

function account(id) {
  return accounts.get(id) ?? {
    sub: id, email: `${id}@example.test`, email_verified: true, name: `User ${id}`,
    groups: ['staff'], amr: ['pwd'], acr: 'urn:genkan:test:pwd',
  };
}

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [...keys] },
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['genkan-test-cookie-key'] },
    async findAccount(ctx, id) {
      const a = account(id);
      return { accountId: id, async claims() {
        return { sub: a.sub, email: a.email, email_verified: a.email_verified, name: a.name, groups: a.groups };
      } };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && tamper && ctx.body?.id_token) {
      const mode = tamper; tamper = null;
      ctx.body = { ...ctx.body, id_token: await rewrite(ctx.body.id_token, mode) };
    }
  });
  return provider;
}

async function rewrite(idToken, { mode, claims = {} }) {
  const payload = { ...decodeJwt(idToken), ...claims };
  for (const [k, v] of Object.entries(claims)) if (v === null) delete payload[k];
  const enc = (o) => base64url.encode(JSON.stringify(o));
  if (mode === 'none') return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`;
  if (mode === 'hs256-public-key') {
    // The classic confusion: HMAC keyed with the public key anyone can fetch.
    const { d, p, q, dp, dq, qi, ...pub } = keys[0];
    const secret = new TextEncoder().encode(JSON.stringify(pub));
    return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: keys[0].kid }).sign(secret);
  }
  if (mode === 'foreign-key') {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: keys[0].kid }).sign(privateKey);
  }
  const key = await importJWK(keys[0], 'RS256');
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: keys[0].kid }).sign(key);
}

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return data ? JSON.parse(data) : {};
}

await newKey();
let provider;
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'POST' && url.pathname === '/test/account') {
      const a = await body(req); accounts.set(a.sub, { ...account(a.sub), ...a });
      res.end('{}'); return;
    }
    if (req.method === 'POST' && url.pathname === '/test/rotate') {
      await newKey(); provider = makeProvider(provider.issuer);
      res.end(JSON.stringify({ kid: keys[0].kid })); return;
    }
    if (req.method === 'POST' && url.pathname === '/test/tamper') {
      tamper = await body(req); res.end('{}'); return;
    }
    if (url.pathname.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      const id = details.params.login_hint ?? 'alice';
      const a = account(id);
      await provider.interactionFinished(req, res, { login: { accountId: id, amr: a.amr, acr: a.acr } }, { mergeWithLastSubmission: false });
      return;
    }
    provider.callback()(req, res);
  } catch (e) {
    res.statusCode = 500; res.end(String(e?.stack ?? e));
  }
});
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = makeProvider(issuer);
  process.stdout.write(`${JSON.stringify({ issuer, kid: keys[0].kid })}\n`);
});

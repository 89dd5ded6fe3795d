// A real OpenID provider (panva's oidc-provider) for cavra's integration tests. 127.0.0.1 only.
//
// Environment:
//   PORT                  port to listen on (required); the issuer is http://127.0.0.1:PORT
//   KEYSET                signing key set name, default "k1". "k2,k1" signs with k2 and also
//                         publishes k1 (a rotation with overlap). Each name has its own keys.
//   KEYS_DIR              where each key set is kept (<name>.json), so a name means the same keys
//                         across restarts; without it keys are new on every start
//   CONSOLE_REDIRECT_URI  redirect URI of the `cavra-console` client (code flow + PKCE);
//                         default http://127.0.0.1:<any port>/console/callback
//   CONSOLE_POST_LOGOUT_REDIRECT_URI  its post-logout redirect URI (default: <origin>/console/)
//   WATCH_STDIN=1         exit when stdin closes (the test process that started us died)
//
// Prints "ready <issuer>" once listening; exits 0 on SIGTERM or SIGINT. The lines before it
// ("loading", "loaded", "keys") tell a test that gave up waiting where the start was slow.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const t0 = Date.now();
const stage = (what) => console.log(`${what} (${Date.now() - t0} ms)`);
stage('loading oidc-provider');
const { default: Provider, errors, interactionPolicy } = await import('oidc-provider');
stage('loaded oidc-provider');

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('server.mjs: PORT is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// Personas: client_credentials clients (id = persona, secret = "<persona>-secret") and the
// dev login page's usernames share this table. Unknown usernames get no groups.
const GROUPS = {
  agent: ['cavra-agents'],
  auditor: ['CAVRA-Auditors'],
  operator: ['CAVRA-Security-Operations', 'Repository Owners'],
  platform: ['CAVRA-Platform-Security'],
  ciso: ['CAVRA-CISO'],
  cab: ['Change Advisory Board'],
  nogroups: [],
  // Variants of a token a verifier must tell apart:
  'agent-es256': ['cavra-agents'], // signed ES256 instead of RS256
  'agent-jwt': ['cavra-agents'], // header typ "JWT" instead of "at+jwt"
  'agent-multiaud': ['cavra-agents'], // aud ["cavra-api", "other-api"]
  wrongaud: ['CAVRA-Security-Operations'], // aud "other-api"
};
const RESOURCES = { // resource indicator -> audience of its access tokens
  'urn:cavra-api': 'cavra-api',
  'urn:other-api': 'other-api',
};

function persona(name) {
  return { email: `${name}@example.test`, groups: GROUPS[name] ?? [] };
}

// One RSA and one P-256 key per key set name; kid = "<name>-<type>-<hash of the public key>".
function keySet(name) {
  const file = process.env.KEYS_DIR && path.join(process.env.KEYS_DIR, `${name}.json`);
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const make = (type, options, alg) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const hash = crypto.createHash('sha256').update(der).digest('base64url').slice(0, 8);
    const jwk = privateKey.export({ format: 'jwk' });
    return { ...jwk, kid: `${name}-${type}-${hash}`, alg, use: 'sig' };
  };
  const keys = [
    make('rsa', { modulusLength: 2048 }, 'RS256'),
    make('ec', { namedCurve: 'P-256' }, 'ES256'),
  ];
  if (file) fs.writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

const clients = Object.keys(GROUPS).map((name) => ({
  client_id: name,
  client_secret: `${name}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
}));
// The console: a confidential client, authorization code flow with PKCE. Without
// CONSOLE_REDIRECT_URI it is registered for http://127.0.0.1:<any port>/console/callback
// (RFC 8252 loopback redirect, so a test can start cavra after the provider).
const consoleRedirect = process.env.CONSOLE_REDIRECT_URI || 'http://127.0.0.1/console/callback';
clients.push({
  client_id: 'cavra-console',
  client_secret: 'console-secret',
  application_type: process.env.CONSOLE_REDIRECT_URI ? 'web' : 'native',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: [consoleRedirect],
  post_logout_redirect_uris: [process.env.CONSOLE_POST_LOGOUT_REDIRECT_URI
    || new URL('/console/', consoleRedirect).href],
});

// The console is first party: no consent page (see loadExistingGrant), even as a loopback client.
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

const signingKeys = (process.env.KEYSET || 'k1').split(',').flatMap((name) => keySet(name.trim()));
stage('keys');

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: signingKeys },
  cookies: { keys: ['cavra-test-idp-cookie-key'] },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 3600,
    IdToken: 600, Interaction: 600, RefreshToken: 3600, Session: 3600,
  },
  scopes: ['openid', 'offline_access'],
  claims: {
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // ID tokens carry the granted claims (email, groups) too
  pkce: { required: () => true },
  interactions: { policy },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      claims: async () => ({
        sub, ...persona(sub), email_verified: true, name: sub, preferred_username: sub,
      }),
    };
  },
  // Access tokens carry the persona's (or the signed-in user's) email and groups.
  async extraTokenClaims(ctx, token) {
    return persona(token.accountId || token.clientId);
  },
  // The console's users are granted what it asks for without a consent page.
  async loadExistingGrant(ctx) {
    const { client, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(client.clientId);
    const { Grant } = ctx.oidc.provider;
    if (grantId) return Grant.find(grantId);
    if (client.clientId !== 'cavra-console') return undefined;
    const grant = new Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile groups offline_access');
    grant.addResourceScope('urn:cavra-api', 'api');
    await grant.save();
    return grant;
  },
  formats: {
    customizers: {
      jwt(ctx, token, jwt) {
        if (token.clientId === 'agent-jwt') jwt.header = { typ: 'JWT' };
        if (token.clientId === 'agent-multiaud') jwt.payload.aud = [jwt.payload.aud, 'other-api'];
      },
    },
  },
  features: {
    devInteractions: { enabled: true }, // the built-in login page: any username, any password
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Without a `resource` parameter a persona's token is for cavra-api (other-api for
      // `wrongaud`); the console's is for the userinfo endpoint unless it asks for urn:cavra-api.
      defaultResource(ctx, client) {
        if (client.clientId === 'cavra-console') return undefined;
        return client.clientId === 'wrongaud' ? 'urn:other-api' : 'urn:cavra-api';
      },
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator, client) {
        if (!RESOURCES[indicator]) throw new errors.InvalidTarget();
        return {
          audience: RESOURCES[indicator],
          scope: 'api',
          accessTokenFormat: 'jwt', // RFC 9068, typ at+jwt
          accessTokenTTL: 600,
          jwt: { sign: { alg: client.clientId === 'agent-es256' ? 'ES256' : 'RS256' } },
        };
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
server.on('error', (err) => {
  console.error(`server.mjs: ${err.message}`);
  process.exit(1);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.WATCH_STDIN === '1') process.stdin.on('end', stop).resume();

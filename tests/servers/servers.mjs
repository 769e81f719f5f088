// Starts the two real servers the client integration tests run against:
//
//   1. an OAuth 2.0 / OpenID provider (npm `oidc-provider`) on 127.0.0.1, with a fresh RSA
//      signing key per run, JWT access tokens for the FHIR server's audience, the token
//      endpoint at POST /oauth/token (as on sso.medcore.uz), and the test clients below;
//   2. the Helios FHIR server `hfs` (R5, SQLite in a temp folder) with JWT auth checked
//      against that provider's JWKS, and the R5 SearchParameters loaded.
//
// When both answer, it prints ONE line of JSON on stdout (see `ready` below) and keeps
// running. It stops both servers (and removes the temp folder) on SIGINT/SIGTERM, and, with
// `--exit-on-stdin-eof`, when its stdin closes: the Rust test harness keeps that pipe open,
// so the servers die with the test process however it ends.
//
// Usage: node servers.mjs [--exit-on-stdin-eof] [--no-hfs] [--oauth-port N] [--fhir-port N]
//                         [--write-env PATH]
//   --write-env writes `export DHP_...=...` lines for the examples (see README.md).
// Env:   DHP_HFS_BIN       hfs binary  (default <cache>/hfs/bin/hfs)
//        DHP_HFS_DATA_DIR  SearchParameter folder (default <cache>/hfs-data, see setup.sh)
//        DHP_SERVERS_CACHE cache folder (default ${XDG_CACHE_HOME:-~/.cache}/dhp-rs)
//        DHP_SHORT_TTL     lifetime in seconds of the short-lived test tokens (default 6)
//
// Test-only endpoints on the OAuth server (not part of any standard):
//   GET /test/token-requests  -> {"<client_id>": {"count", "basic", "post"}, ...}: how many
//                                requests reached POST /oauth/token per client, and how many
//                                of them authenticated with HTTP Basic / with a form secret.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync, openSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const log = (msg) => process.stderr.write(`[servers] ${msg}\n`);

const cacheDir = process.env.DHP_SERVERS_CACHE
  || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'dhp-rs');
const hfsBin = process.env.DHP_HFS_BIN || join(cacheDir, 'hfs', 'bin', 'hfs');
const hfsDataDir = process.env.DHP_HFS_DATA_DIR || join(cacheDir, 'hfs-data');
const shortTtl = Number(process.env.DHP_SHORT_TTL || 6);

let hfs;
let workDir;
let stopping = false;

function stop(code) {
  if (stopping) return;
  stopping = true;
  const finish = () => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    process.exit(code);
  };
  if (hfs && hfs.exitCode === null && hfs.signalCode === null) {
    // Wait for hfs to exit (so it is reaped, not left a zombie), SIGKILL after 5 s.
    hfs.once('exit', finish);
    hfs.kill('SIGTERM');
    setTimeout(() => hfs.kill('SIGKILL'), 5000).unref();
  } else {
    finish();
  }
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
process.on('uncaughtException', (e) => {
  log(`fatal: ${e.stack || e}`);
  stop(1);
});
if (flag('--exit-on-stdin-eof')) {
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // A request the server accepted but never answers must not hold the wait forever.
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (hfs && hfs.exitCode !== null) throw new Error(`${what} exited with ${hfs.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- OAuth server

const server = createServer();
await new Promise((r) => server.listen(Number(option('--oauth-port') || 0), '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;
const fhirPort = Number(option('--fhir-port') || 0) || await freePort();
const fhirBase = `http://127.0.0.1:${fhirPort}`;

// One RSA key per run, kept for the whole run so that HFS (which caches the JWKS for
// 10 s) always verifies with the key that signed.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `dhp-test-${crypto.randomUUID()}`, use: 'sig', alg: 'RS256' };

const REDIRECT = 'http://127.0.0.1/callback'; // native client: any loopback port is accepted
const FULL = 'system/*.cruds';
const clients = [
  // The backend client the IG documents: client_credentials, secret in the form body.
  { client_id: 'dhp-backend', client_secret: 'dhp-backend-secret', scope: FULL },
  // The same, for a test that counts its token requests (tests run in parallel).
  { client_id: 'dhp-counted', client_secret: 'dhp-counted-secret', scope: FULL },
  // Same, but its tokens live DHP_SHORT_TTL seconds (renewal tests).
  { client_id: 'dhp-short-ttl', client_secret: 'dhp-short-ttl-secret', scope: FULL },
  // Short-lived too; used only by the single-flight test so its counter is its own.
  { client_id: 'dhp-single-flight', client_secret: 'dhp-single-flight-secret', scope: FULL },
  // Read-only scope: creating gives 403 at HFS.
  { client_id: 'dhp-readonly', client_secret: 'dhp-readonly-secret', scope: 'system/*.rs' },
  // Every token it gets names another audience, so HFS always answers 401.
  { client_id: 'dhp-wrong-audience', client_secret: 'dhp-wrong-audience-secret', scope: FULL },
  // Its first token names another audience (401 at HFS); later ones are right.
  { client_id: 'dhp-first-token-bad', client_secret: 'dhp-first-token-bad-secret', scope: FULL },
].map(({ scope, ...c }) => ({
  ...c,
  // Not the `scope` client metadata: oidc-provider only allows its own (OIDC) scopes there.
  'urn:dhp-rs:granted_scope': scope,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_post',
}));
// Public frontend / desktop clients: authorization code + PKCE (S256), no secret. Several
// identical ones, so that tests running in parallel each count their own token requests.
for (const id of ['dhp-frontend', 'dhp-frontend-2', 'dhp-frontend-3']) {
  clients.push({
    client_id: id,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [REDIRECT],
  });
}
clients.push(
  // A confidential web backend using the authorization code flow with its secret.
  {
    client_id: 'dhp-web',
    client_secret: 'dhp-web-secret',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [REDIRECT],
  },
);
const registeredScope = Object.fromEntries(clients.map((c) => [c.client_id, c['urn:dhp-rs:granted_scope']]));
for (const c of clients) delete c['urn:dhp-rs:granted_scope'];
const issued = new Map(); // client_id -> access tokens issued so far

const shortLived = new Set(['dhp-short-ttl', 'dhp-single-flight']);
const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  routes: { token: '/oauth/token' },
  scopes: ['openid', 'offline_access'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => fhirBase,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'system/*.cruds system/*.rs user/*.cruds user/*.rs',
        audience: fhirBase,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  formats: {
    customizers: {
      async jwt(ctx, token, jwt) {
        const clientId = token.clientId;
        const n = (issued.get(clientId) || 0) + 1;
        issued.set(clientId, n);
        // A client_credentials request that names no scope gets the client's registered
        // scope, as a real authorization server configured per client would grant.
        if (token.kind === 'ClientCredentials' && !jwt.payload.scope && registeredScope[clientId]) {
          jwt.payload.scope = registeredScope[clientId];
        }
        if (clientId === 'dhp-wrong-audience' || (clientId === 'dhp-first-token-bad' && n === 1)) {
          jwt.payload.aud = 'urn:dhp-rs:some-other-server';
        }
      },
    },
  },
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    ClientCredentials: (ctx, token, client) => (shortLived.has(client.clientId) ? shortTtl : 600),
    Grant: 3600,
    IdToken: 600,
    Interaction: 600,
    RefreshToken: 3600,
    Session: 3600,
  },
});

const tokenRequests = {};
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/test/token-requests') {
    ctx.type = 'json';
    ctx.body = JSON.stringify(tokenRequests);
    return;
  }
  const isToken = ctx.method === 'POST' && ctx.path === '/oauth/token';
  const basic = /^basic /i.test(ctx.get('authorization'));
  await next();
  if (isToken) {
    let id = ctx.oidc?.client?.clientId || ctx.oidc?.params?.client_id;
    if (!id && basic) {
      const raw = Buffer.from(ctx.get('authorization').slice(6), 'base64').toString();
      id = decodeURIComponent(raw.split(':')[0]);
    }
    const entry = (tokenRequests[id || '(unknown)'] ||= { count: 0, basic: 0, post: 0 });
    entry.count += 1;
    if (basic) entry.basic += 1;
    if (ctx.oidc?.params?.client_secret) entry.post += 1;
  }
});
server.on('request', provider.callback());
await waitFor(`${issuer}/.well-known/openid-configuration`, 'oidc-provider', 10_000);
log(`OAuth server at ${issuer}`);

// ---------------------------------------------------------------- FHIR server

if (!flag('--no-hfs')) {
  if (!existsSync(hfsBin)) throw new Error(`${hfsBin} not found: run \`bash tests/servers/setup.sh\``);
  if (!existsSync(join(hfsDataDir, 'search-parameters-r5.json'))) {
    throw new Error(`${hfsDataDir}/search-parameters-r5.json not found: run \`bash tests/servers/setup.sh\``);
  }
  workDir = mkdtempSync(join(tmpdir(), 'dhp-hfs-'));
  const logFile = join(workDir, 'hfs.log');
  const out = openSync(logFile, 'a');
  hfs = spawn(hfsBin, [
    '--host', '127.0.0.1', '--port', String(fhirPort),
    '--database-url', join(workDir, 'fhir.db'),
  ], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      HFS_DEFAULT_FHIR_VERSION: 'R5',
      HFS_BASE_URL: fhirBase,
      HFS_DATA_DIR: hfsDataDir,
      HFS_UI_ENABLED: 'false',
      HFS_NL_SEARCH_ENABLED: 'false',
      HFS_AUTH_ENABLED: 'true',
      HFS_AUTH_JWKS_URL: `${issuer}/jwks`,
      HFS_AUTH_ISSUER: issuer,
      HFS_AUTH_AUDIENCE: fhirBase,
      HFS_SMART_TOKEN_ENDPOINT: `${issuer}/oauth/token`,
      HFS_SMART_AUTHORIZE_ENDPOINT: `${issuer}/auth`,
    },
  });
  hfs.on('exit', (code, signal) => {
    if (stopping) return;
    log(`hfs exited (${code ?? signal}); its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    stop(1);
  });
  try {
    await waitFor(`${fhirBase}/metadata`, 'hfs', 60_000);
  } catch (e) {
    log(`${e.message}; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    stop(1);
  }
  log(`FHIR server at ${fhirBase} (data in ${workDir})`);
}

const ready = {
  oauth: issuer,
  token_url: `${issuer}/oauth/token`,
  authorize_url: `${issuer}/auth`,
  fhir: flag('--no-hfs') ? null : fhirBase,
  short_ttl: shortTtl,
  redirect_uri: REDIRECT,
};
const envFile = option('--write-env');
if (envFile) {
  const env = {
    DHP_FHIR_BASE: fhirBase,
    DHP_SSO_BASE: issuer,
    DHP_AUTHORIZE_URL: `${issuer}/auth`,
    DHP_CLIENT_ID: 'dhp-backend',
    DHP_CLIENT_SECRET: 'dhp-backend-secret',
    DHP_FRONTEND_CLIENT_ID: 'dhp-frontend',
    DHP_SCOPE: 'openid offline_access user/*.cruds',
  };
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `export ${k}='${v}'\n`).join(''));
}
process.stdout.write(`${JSON.stringify(ready)}\n`);

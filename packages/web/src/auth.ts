/**
 * Signing in. Embedded mode: `realconv login-link` gives a link with a one-time code in the fragment, which is
 * exchanged for a token (`POST /app/sign-in`) and removed from the URL. OAuth mode: authorization code with
 * PKCE (RFC 7636) against the issuer named by `/app/config.json`, found through its OpenID configuration.
 */
import { appFetch, saveSession, type Session } from "./session";

export type AuthConfig =
  | { mode: "embedded" }
  | { mode: "oauth"; authority: string; clientId: string; scopes?: string };

export interface AppConfig {
  auth: AuthConfig;
}

let configPromise: Promise<AppConfig> | undefined;
export function appConfig(): Promise<AppConfig> {
  configPromise ??= appFetch<AppConfig>("/app/config.json", { auth: false });
  return configPromise;
}

export async function signInWithCode(code: string): Promise<Session> {
  const r = await appFetch<{ accessToken: string; expiresIn: number; email?: string }>("/app/sign-in", { method: "POST", body: { code }, auth: false });
  const session: Session = { accessToken: r.accessToken, expiresAt: Date.now() + r.expiresIn * 1000, email: r.email };
  saveSession(session);
  return session;
}

const PKCE_KEY = "realconv.pkce";

function base64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function codeChallenge(verifier: string): Promise<string> {
  return base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

interface OpenIdConfiguration {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(authority: string): Promise<OpenIdConfiguration> {
  const res = await fetch(`${authority.replace(/\/+$/, "")}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the identity provider's configuration answered HTTP ${res.status}`);
  return (await res.json()) as OpenIdConfiguration;
}

/** Where the issuer sends the browser back: this page, without query or fragment. */
function redirectUri(): string {
  return `${location.origin}${location.pathname}`;
}

export async function startOAuth(auth: Extract<AuthConfig, { mode: "oauth" }>, returnTo: string): Promise<void> {
  const oidc = await discover(auth.authority);
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, tokenEndpoint: oidc.token_endpoint, returnTo }));
  const url = new URL(oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: redirectUri(),
    scope: auth.scopes ?? "openid",
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/**
 * Back from the issuer (`?code=...&state=...`): trades the code for a token with the verifier kept before
 * leaving, then drops the query from the URL. Returns the page to go back to, or undefined when this load is
 * not a return from the issuer.
 */
export async function completeOAuth(auth: Extract<AuthConfig, { mode: "oauth" }>): Promise<string | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const state = params.get("state");
  const error = params.get("error");
  if (!code && !error) return undefined;
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null") as { verifier: string; state: string; tokenEndpoint: string; returnTo: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (error) throw new Error(`the identity provider refused the sign-in: ${params.get("error_description") ?? error}`);
  if (!saved || saved.state !== state) throw new Error("the sign-in answer does not match the request made (state); sign in again");
  const res = await fetch(saved.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: code!, redirect_uri: redirectUri(), client_id: auth.clientId, code_verifier: saved.verifier }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`the token request failed: ${body.error_description ?? body.error ?? `HTTP ${res.status}`}`);
  saveSession({ accessToken: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000, email: emailClaim(body.access_token) });
  return saved.returnTo;
}

/** The e-mail a JWT names, to show who is signed in (the server verifies the token; this only reads it). */
function emailClaim(token: string): string | undefined {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))) as { email?: unknown; preferred_username?: unknown };
    const email = payload.email ?? payload.preferred_username;
    return typeof email === "string" ? email : undefined;
  } catch {
    return undefined;
  }
}

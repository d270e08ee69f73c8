import { useEffect, useRef, useState } from "react";
import { signInWithCode, startOAuth, type AppConfig } from "../auth";
import { ErrorBox } from "../components";
import { replaceRoute } from "../router";

export function SignInPage({ config, code, returnTo, initialError }: { config: AppConfig; code?: string; returnTo?: string; initialError?: unknown }) {
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);
  const used = useRef<string>(undefined);

  useEffect(() => {
    if (!code || used.current === code) return;
    used.current = code;
    // The code leaves the address bar (and the history entry) before it is even sent.
    replaceRoute("#/sign-in");
    setBusy(true);
    signInWithCode(code)
      .then(() => replaceRoute("#/itwins"))
      .catch((e) => {
        setError(e);
        setBusy(false);
      });
  }, [code]);

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      {busy && <p role="status">Signing in…</p>}
      {error !== undefined && <ErrorBox error={error} title="Sign-in failed" />}
      {config.auth.mode === "embedded" ? (
        !busy && (
          <p>
            Open the sign-in link your realconv administrator gave you. On the server, <code>realconv login-link --email you@example.com</code>{" "}
            prints a one-time link that is valid for a few minutes.
          </p>
        )
      ) : (
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            startOAuth(config.auth as Extract<AppConfig["auth"], { mode: "oauth" }>, returnTo && !returnTo.startsWith("#/sign-in") ? returnTo : "#/itwins").catch((e) => {
              setError(e);
              setBusy(false);
            });
          }}
        >
          Sign in with your organisation
        </button>
      )}
    </section>
  );
}

import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from "react";
import { appConfig, completeOAuth, type AppConfig } from "./auth";
import { link, replaceRoute, useRoute } from "./router";
import { clearSession, loadSession, onSessionChange } from "./session";
import { SignInPage } from "./pages/SignIn";
import { ITwinsPage } from "./pages/ITwins";
import { ITwinPage } from "./pages/ITwin";
import { JobsPage } from "./pages/Jobs";
import { JobFormPage } from "./pages/JobForm";
import { JobPage } from "./pages/Job";
import { ErrorBoundary, ErrorBox } from "./components";

// The viewers carry three.js and MapLibre: loaded only when a reality data page opens.
const DataPage = lazy(() => import("./pages/Data").then((m) => ({ default: m.DataPage })));
const SharePage = lazy(() => import("./pages/Share").then((m) => ({ default: m.SharePage })));

function useSession() {
  return useSyncExternalStore(onSessionChange, () => loadSession()?.accessToken, () => undefined);
}

export function App() {
  const route = useRoute();
  const token = useSession();
  const [config, setConfig] = useState<AppConfig>();
  const [error, setError] = useState<unknown>();
  const [signInError, setSignInError] = useState<unknown>();

  useEffect(() => {
    appConfig()
      .then(async (c) => {
        if (c.auth.mode === "oauth") {
          // A failed return from the issuer is shown on the sign-in page, which can start over.
          try {
            const back = await completeOAuth(c.auth);
            if (back) replaceRoute(back);
          } catch (e) {
            setSignInError(e);
          }
        }
        setConfig(c);
      })
      .catch(setError);
  }, []);

  const [top] = route.path;
  // Shared links open read-only, without signing in.
  if (top === "share") {
    return (
      <Shell signedIn={false}>
        <Suspense fallback={<p>Loading…</p>}>
          <SharePage token={route.path[1] ?? ""} />
        </Suspense>
      </Shell>
    );
  }
  if (error) return <Shell signedIn={false}><ErrorBox error={error} /></Shell>;
  if (!config) return <Shell signedIn={false}><p>Loading…</p></Shell>;
  if (top === "sign-in" || !token) {
    return (
      <Shell signedIn={false}>
        <SignInPage config={config} initialError={signInError} code={route.query.get("code") ?? undefined} returnTo={top === "sign-in" ? undefined : location.hash} />
      </Shell>
    );
  }

  let page;
  const [, id, sub] = route.path;
  if (top === "itwins" && id && sub === "jobs" && route.path[3] === "new") page = <JobFormPage iTwinId={id} query={route.query} />;
  else if (top === "itwins" && id && sub === "jobs") page = <JobsPage iTwinId={id} query={route.query} />;
  else if (top === "itwins" && id) page = <ITwinPage iTwinId={id} />;
  else if (top === "jobs" && id) page = <JobPage jobId={id} />;
  else if (top === "data" && id) page = <DataPage realityDataId={id} iTwinId={route.query.get("iTwinId") ?? undefined} />;
  else page = <ITwinsPage />;
  return (
    <Shell signedIn>
      <Suspense fallback={<p>Loading…</p>}>{page}</Suspense>
    </Shell>
  );
}

function Shell({ signedIn, children }: { signedIn: boolean; children: React.ReactNode }) {
  const email = signedIn ? loadSession()?.email : undefined;
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>Skip to content</a>
      <header className="top">
        <a className="brand" href={link(["itwins"])}>realconv</a>
        {signedIn && (
          <nav aria-label="Main">
            <a href={link(["itwins"])}>iTwins</a>
            {email && <span className="who">{email}</span>}
            <button type="button" onClick={() => { clearSession(); replaceRoute("#/sign-in"); }}>Sign out</button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={location.hash}>{children}</ErrorBoundary>
      </main>
    </>
  );
}

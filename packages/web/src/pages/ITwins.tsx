import { useEffect, useState } from "react";
import { ErrorBox } from "../components";
import { link } from "../router";
import { appFetch } from "../session";

export interface ITwin {
  id: string;
  displayName: string;
  class?: string;
  subClass?: string;
  type?: string;
  status?: string;
}

export function ITwinsPage() {
  const [iTwins, setITwins] = useState<ITwin[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    appFetch<{ iTwins: ITwin[] }>("/itwins").then((r) => setITwins(r.iTwins), setError);
  }, []);
  return (
    <section>
      <h1>Your iTwins</h1>
      {error !== undefined && <ErrorBox error={error} />}
      {!iTwins && error === undefined && <p>Loading…</p>}
      {iTwins?.length === 0 && <p>You are not a member of any iTwin yet. An administrator adds you with <code>realconv itwins add-member</code>.</p>}
      <ul className="cards" aria-label="iTwins">
        {iTwins?.map((t) => (
          <li key={t.id}>
            <a className="card link" href={link(["itwins", t.id])}>
              <strong>{t.displayName}</strong>
              <span className="muted">{[t.class, t.subClass, t.status].filter(Boolean).join(" · ")}</span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function useITwin(id: string): ITwin | undefined {
  const [t, setT] = useState<ITwin>();
  useEffect(() => {
    appFetch<{ iTwin: ITwin }>(`/itwins/${encodeURIComponent(id)}`).then((r) => setT(r.iTwin), () => setT({ id, displayName: id }));
  }, [id]);
  return t;
}

export function ITwinNav({ iTwinId, current }: { iTwinId: string; current: "data" | "jobs" | "new" }) {
  const t = useITwin(iTwinId);
  const item = (key: typeof current, href: string, label: string) => (
    <a href={href} aria-current={current === key ? "page" : undefined}>{label}</a>
  );
  return (
    <div className="itwin-head">
      <p className="crumbs"><a href={link(["itwins"])}>iTwins</a> / <span>{t?.displayName ?? "…"}</span></p>
      <nav className="tabs" aria-label="iTwin">
        {item("data", link(["itwins", iTwinId]), "Reality data")}
        {item("jobs", link(["itwins", iTwinId, "jobs"]), "Jobs")}
        {item("new", link(["itwins", iTwinId, "jobs", "new"]), "New job")}
      </nav>
    </div>
  );
}

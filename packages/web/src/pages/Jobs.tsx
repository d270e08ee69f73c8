import { useEffect, useRef, useState } from "react";
import type { Job, JobsPage as Page } from "@realconv/sdk";
import { ErrorBox, FINAL, formatDate, ProgressBar, StateBadge } from "../components";
import { buildFilter, useLiveProgress, type JobFilters } from "../jobs";
import { link, navigate } from "../router";
import { client } from "../session";
import { ITwinNav } from "./ITwins";

const STATES = ["Queued", "Active", "TerminatingOnCancel", "TerminatingOnFailure", "Cancelled", "Failed", "Success"];
const TYPES = ["PointCloudConversion", "PointCloudOptimization", "TileMapOptimization", "VectorOptimization", "MeshSampling", "ContextSceneTiler"];

export function JobsPage({ iTwinId, query }: { iTwinId: string; query: URLSearchParams }) {
  const filters: JobFilters = {
    state: query.get("state") ?? undefined,
    type: query.get("type") ?? undefined,
    name: query.get("name") ?? undefined,
    from: query.get("from") ?? undefined,
    to: query.get("to") ?? undefined,
  };
  const filter = buildFilter(iTwinId, filters);
  const [jobs, setJobs] = useState<Job[]>();
  const [error, setError] = useState<unknown>();
  const [more, setMore] = useState<(() => Promise<void>) | undefined>();
  const pages = useRef<AsyncGenerator<Page>>(undefined);

  useEffect(() => {
    setJobs(undefined);
    setError(undefined);
    const it = client.jobs.pages(filter, { top: 50 });
    pages.current = it;
    const next = async () => {
      try {
        const r = await it.next();
        if (pages.current !== it) return;
        if (r.done) return setMore(undefined);
        setJobs((old) => [...(old ?? []), ...r.value.jobs]);
        setMore(() => (r.value._links?.next ? next : undefined));
      } catch (e) {
        setError(e);
      }
    };
    void next();
  }, [filter]);

  const progress = useLiveProgress(jobs ?? []);

  function apply(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const q: Record<string, string> = {};
    for (const k of ["state", "type", "name", "from", "to"]) {
      const v = String(d.get(k) ?? "").trim();
      if (v) q[k] = v;
    }
    navigate(link(["itwins", iTwinId, "jobs"], q));
  }

  async function cancel(id: string) {
    try {
      const j = await client.jobs.cancel(id);
      setJobs((old) => old?.map((x) => (x.id === id ? j : x)));
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section>
      <ITwinNav iTwinId={iTwinId} current="jobs" />
      <h1>Jobs</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter jobs" key={filter}>
        <label>State <select name="state" defaultValue={filters.state ?? ""}><option value="">any</option>{STATES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Type <select name="type" defaultValue={filters.type ?? ""}><option value="">any</option>{TYPES.map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Name <input name="name" defaultValue={filters.name ?? ""} placeholder="exact name" /></label>
        <label>Created from <input type="datetime-local" name="from" defaultValue={filters.from ?? ""} /></label>
        <label>to <input type="datetime-local" name="to" defaultValue={filters.to ?? ""} /></label>
        <button type="submit">Filter</button>
      </form>
      <p className="muted">
        <code className="filter" data-testid="filter">$filter={filter}</code>
      </p>
      {error !== undefined && <ErrorBox error={error} />}
      {!jobs && error === undefined && <p>Loading…</p>}
      {jobs?.length === 0 && <p>No job matches.</p>}
      {jobs && jobs.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Jobs">
            <thead><tr><th>Name</th><th>Type</th><th>State</th><th>Progress</th><th>Created</th><th><span className="sr">Actions</span></th></tr></thead>
            <tbody>
              {jobs.map((j) => {
                const p = progress[j.id];
                const state = p?.state ?? j.state;
                return (
                  <tr key={j.id} data-id={j.id}>
                    <td><a href={link(["jobs", j.id], { iTwinId })}>{j.name || j.id.slice(0, 8)}</a></td>
                    <td>{j.type}</td>
                    <td><StateBadge state={state} /></td>
                    <td>{FINAL.has(state) ? (state === "Success" ? "100%" : "") : <ProgressBar value={p?.percentage ?? 0} label={`Progress of ${j.name ?? j.id}`} />}</td>
                    <td>{formatDate(j.executionInfo.createdDateTime)}</td>
                    <td>{!FINAL.has(state) && state !== "TerminatingOnCancel" && <button type="button" onClick={() => cancel(j.id)}>Cancel</button>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {more && <button type="button" onClick={() => void more()}>More jobs</button>}
    </section>
  );
}

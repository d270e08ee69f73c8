/** The jobs list's filters as the API's OData `$filter`, and live progress for the jobs still running. */
import { useEffect, useState } from "react";
import type { Job, JobProgress } from "@realconv/sdk";
import { FINAL } from "./components";
import { client } from "./session";

export interface JobFilters {
  state?: string;
  type?: string;
  name?: string;
  /** `datetime-local` values (the browser's time zone). */
  from?: string;
  to?: string;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const utc = (local: string) => new Date(local).toISOString();

export function buildFilter(iTwinId: string, f: JobFilters): string {
  const parts = [`iTwinId eq ${iTwinId}`];
  if (f.state) parts.push(`state eq '${f.state}'`);
  if (f.type) parts.push(`type eq '${f.type}'`);
  if (f.name) parts.push(`name eq ${quote(f.name)}`);
  if (f.from && !Number.isNaN(Date.parse(f.from))) parts.push(`createdDateTime ge ${utc(f.from)}`);
  if (f.to && !Number.isNaN(Date.parse(f.to))) parts.push(`createdDateTime le ${utc(f.to)}`);
  return parts.join(" and ");
}

/** Polls the progress of the jobs that have not ended, every `intervalMs`, until they do. */
export function useLiveProgress(jobs: Job[], intervalMs = 1500): Record<string, JobProgress> {
  const [progress, setProgress] = useState<Record<string, JobProgress>>({});
  const running = jobs.filter((j) => !FINAL.has(progress[j.id]?.state ?? j.state)).map((j) => j.id);
  const key = running.join(",");
  useEffect(() => {
    if (!key) return;
    let stopped = false;
    const ids = key.split(",");
    const tick = async () => {
      const results = await Promise.all(ids.map((id) => client.jobs.progress(id).then((p) => [id, p] as const, () => undefined)));
      if (stopped) return;
      setProgress((old) => {
        const next = { ...old };
        for (const r of results) if (r) next[r[0]] = r[1];
        return next;
      });
    };
    void tick();
    const timer = setInterval(tick, intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [key, intervalMs]);
  return progress;
}

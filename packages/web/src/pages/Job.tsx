import { useEffect, useState } from "react";
import type { Job, JobMessage, JobMessages, JobProgress } from "@realconv/sdk";
import { ErrorBox, FINAL, formatDate, ProgressBar, StateBadge } from "../components";
import { link } from "../router";
import { client } from "../session";

export function messageText(m: JobMessage): string {
  return m.message.replace(/%(\d+)/g, (all, n: string) => m.params[Number(n) - 1] ?? all);
}

export function JobPage({ jobId }: { jobId: string }) {
  const [job, setJob] = useState<Job>();
  const [progress, setProgress] = useState<JobProgress>();
  const [messages, setMessages] = useState<JobMessages>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const p = await client.jobs.progress(jobId);
        if (stopped) return;
        setProgress(p);
        if (FINAL.has(p.state)) {
          const [j, m] = await Promise.all([client.jobs.get(jobId), client.jobs.messages(jobId)]);
          if (!stopped) {
            setJob(j);
            setMessages(m);
          }
          return;
        }
        timer = setTimeout(tick, 1000);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    client.jobs.get(jobId).then((j) => !stopped && setJob(j), setError);
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [jobId]);

  const state = progress?.state ?? job?.state;
  return (
    <section>
      {job && <p className="crumbs"><a href={link(["itwins"])}>iTwins</a> / <a href={link(["itwins", job.iTwinId, "jobs"])}>Jobs</a></p>}
      <h1>{job?.name || "Job"}</h1>
      {error !== undefined && <ErrorBox error={error} />}
      {job && (
        <dl className="props">
          <dt>Id</dt><dd><code>{job.id}</code></dd>
          <dt>Type</dt><dd>{job.type}</dd>
          <dt>State</dt><dd data-testid="job-state">{state && <StateBadge state={state} />}</dd>
          <dt>Created</dt><dd>{formatDate(job.executionInfo.createdDateTime)}</dd>
          {job.executionInfo.startedDateTime && <><dt>Started</dt><dd>{formatDate(job.executionInfo.startedDateTime)}</dd></>}
          {job.executionInfo.endedDateTime && <><dt>Ended</dt><dd>{formatDate(job.executionInfo.endedDateTime)}</dd></>}
          <dt>Inputs</dt>
          <dd>
            {Object.entries(job.specifications.inputs).flatMap(([key, v]) =>
              (Array.isArray(v) ? v : [v]).map((id) => <div key={`${key}-${id}`}><code>{key}</code> <a href={link(["data", String(id)], { iTwinId: job.iTwinId })}>{String(id)}</a></div>),
            )}
          </dd>
          {job.specifications.options && Object.keys(job.specifications.options).length > 0 && (
            <><dt>Options</dt><dd>{Object.entries(job.specifications.options).map(([k, v]) => <div key={k}><code>{k}</code> {String(v)}</div>)}</dd></>
          )}
          <dt>Output</dt>
          <dd><a href={link(["data", job.specifications.output], { iTwinId: job.iTwinId })} data-testid="output-link">{state === "Success" ? "Open the output" : job.specifications.output}</a></dd>
        </dl>
      )}
      {progress && <ProgressBar value={progress.percentage} label="Job progress" />}
      {state && !FINAL.has(state) && state !== "TerminatingOnCancel" && (
        <button type="button" onClick={() => client.jobs.cancel(jobId).then(setJob, setError)}>Cancel the job</button>
      )}
      {messages && (
        <div className="messages" aria-label="Messages">
          <h2>Messages</h2>
          {messages.errors.length === 0 && messages.warnings.length === 0 && <p className="muted">No message.</p>}
          <ul>
            {messages.errors.map((m, i) => <li key={`e${i}`} className="msg-error" data-testid="job-error"><strong>{m.title}</strong> <code>{m.code}</code>: {messageText(m)}</li>)}
            {messages.warnings.map((m, i) => <li key={`w${i}`} className="msg-warning"><strong>{m.title}</strong> <code>{m.code}</code>: {messageText(m)}</li>)}
          </ul>
        </div>
      )}
    </section>
  );
}

import { useEffect, useMemo, useState } from "react";
import type { JobCreation, RealityData } from "@realconv/sdk";
import { ErrorBox } from "../components";
import { link, navigate } from "../router";
import { client } from "../session";
import { acceptedTypes, checkValue, formatDescriptions, isRequiredOption, jobCreationSchema, jobTypeForms, type JobTypeForm, type Problem } from "../openapi";
import { ITwinNav } from "./ITwins";

/** The job type a reality data most likely goes into. */
function typeFor(rdType: string | undefined, forms: JobTypeForm[]): string | undefined {
  if (!rdType) return undefined;
  const order = ["PointCloudConversion", "TileMapOptimization", "ContextSceneTiler", "VectorOptimization", "MeshSampling", "PointCloudOptimization"];
  for (const t of order) {
    const f = forms.find((x) => x.type === t);
    if (f?.inputs.some(([, s]) => acceptedTypes(s.type === "array" ? { ...s.items, description: s.description } : s)?.includes(rdType) && rdType !== "Unstructured")) return t;
  }
  return undefined;
}

export function JobFormPage({ iTwinId, query }: { iTwinId: string; query: URLSearchParams }) {
  const [forms, setForms] = useState<JobTypeForm[]>();
  const [data, setData] = useState<RealityData[]>([]);
  const [error, setError] = useState<unknown>();
  const [type, setType] = useState(query.get("type") ?? "");
  const [name, setName] = useState("");
  const [inputs, setInputs] = useState<Record<string, string[]>>({});
  const [options, setOptions] = useState<Record<string, string>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const preselected = query.get("input") ?? undefined;

  useEffect(() => {
    jobCreationSchema().then((s) => setForms(jobTypeForms(s)), setError);
    (async () => {
      const out: RealityData[] = [];
      for await (const rd of client.realityData.list({ iTwinId, full: true, orderBy: "createdDateTime desc" })) {
        out.push(rd);
        if (out.length >= 1000) break;
      }
      setData(out);
    })().catch(setError);
  }, [iTwinId]);

  // The type follows the preselected input once both are known.
  useEffect(() => {
    if (type || !forms) return;
    const rd = data.find((d) => d.id === preselected);
    if (preselected && !rd) return;
    setType(typeFor(rd?.type, forms) ?? forms[0]?.type ?? "");
  }, [forms, data, preselected, type]);

  const form = forms?.find((f) => f.type === type);

  useEffect(() => {
    if (!form) return;
    const next: Record<string, string[]> = {};
    for (const [key] of form.inputs) next[key] = preselected && data.some((d) => d.id === preselected) ? [preselected] : [];
    setInputs(next);
    const opts: Record<string, string> = {};
    for (const [key, s] of form.options) if (s.enum && isRequiredOption(s)) opts[key] = s.enum[0];
    setOptions(opts);
    setProblems([]);
    setError(undefined);
  }, [form, preselected, data]);

  const choices = useMemo(() => {
    const out: Record<string, RealityData[]> = {};
    for (const [key, s] of form?.inputs ?? []) {
      const accepted = acceptedTypes(s);
      out[key] = data.filter((d) => !accepted || accepted.includes(d.type) || d.id === preselected);
    }
    return out;
  }, [form, data, preselected]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!form) return;
    const found: Problem[] = [];
    const nameCheck = checkValue("name", form.name, name, false);
    if (nameCheck.problem) found.push(nameCheck.problem);
    const specInputs: Record<string, string | string[]> = {};
    for (const [key, s] of form.inputs) {
      const chosen = inputs[key] ?? [];
      const required = form.requiredInputs.includes(key);
      if (s.type === "array") {
        if (chosen.length < (s.minItems ?? (required ? 1 : 0))) found.push({ target: `specifications.inputs.${key}`, message: "choose at least one reality data" });
        if (chosen.length > 0) specInputs[key] = chosen;
      } else {
        if (chosen.length === 0 && required) found.push({ target: `specifications.inputs.${key}`, message: "choose a reality data" });
        if (chosen[0]) specInputs[key] = chosen[0];
      }
    }
    const specOptions: Record<string, unknown> = {};
    for (const [key, s] of form.options) {
      const c = checkValue(`specifications.options.${key}`, s, options[key] ?? "", isRequiredOption(s));
      if (c.problem) found.push(c.problem);
      else if (c.value !== undefined) specOptions[key] = c.value;
    }
    setProblems(found);
    if (found.length > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const body = {
        type: form.type,
        iTwinId,
        ...(name.trim() ? { name: name.trim() } : {}),
        specifications: { inputs: specInputs, ...(Object.keys(specOptions).length ? { options: specOptions } : {}) },
      } as unknown as JobCreation;
      const job = await client.jobs.create(body);
      navigate(link(["jobs", job.id], { iTwinId }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section>
      <ITwinNav iTwinId={iTwinId} current="new" />
      <h1>New job</h1>
      {!forms && error === undefined && <p>Loading…</p>}
      {forms && (
        <form className="form" onSubmit={submit} noValidate aria-describedby="job-form-status">
          <label>
            Job type
            <select name="type" value={type} onChange={(e) => setType(e.target.value)}>
              {forms.map((f) => <option key={f.type} value={f.type}>{f.type}</option>)}
            </select>
          </label>
          {form && <p className="muted">{form.description}</p>}
          <label>
            Name <span className="muted">(optional)</span>
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} maxLength={form?.name.maxLength} />
          </label>
          {form?.inputs.map(([key, s]) => (
            <fieldset key={key}>
              <legend>Input <code>{key}</code></legend>
              <p className="muted">{s.description}</p>
              {choices[key]?.length === 0 && <p>No reality data of an accepted type in this iTwin; upload some first.</p>}
              {s.type === "array" ? (
                <div className="checks">
                  {choices[key]?.map((d) => (
                    <label key={d.id} className="check">
                      <input
                        type="checkbox"
                        name={`input-${key}`}
                        value={d.id}
                        checked={inputs[key]?.includes(d.id) ?? false}
                        onChange={(e) =>
                          setInputs((x) => ({ ...x, [key]: e.target.checked ? [...(x[key] ?? []), d.id] : (x[key] ?? []).filter((v) => v !== d.id) }))
                        }
                      />
                      {d.displayName} <span className="muted">{d.type}</span>
                    </label>
                  ))}
                </div>
              ) : (
                <select name={`input-${key}`} value={inputs[key]?.[0] ?? ""} onChange={(e) => setInputs((x) => ({ ...x, [key]: e.target.value ? [e.target.value] : [] }))}>
                  <option value="">Choose…</option>
                  {choices[key]?.map((d) => <option key={d.id} value={d.id}>{d.displayName} ({d.type})</option>)}
                </select>
              )}
            </fieldset>
          ))}
          {form && form.options.length > 0 && (
            <fieldset>
              <legend>Options</legend>
              {form.options.map(([key, s]) => <OptionField key={key} name={key} schema={s} value={options[key] ?? ""} onChange={(v) => setOptions((o) => ({ ...o, [key]: v }))} />)}
            </fieldset>
          )}
          <div id="job-form-status">
            {problems.length > 0 && (
              <div className="error" role="alert">
                <strong>Check the form</strong>
                <ul className="details">{problems.map((p, i) => <li key={i}><code>{p.target}</code> {p.message}</li>)}</ul>
              </div>
            )}
            {error !== undefined && <ErrorBox error={error} title="The service refused the job" />}
          </div>
          <button type="submit" className="primary" disabled={busy || !form}>{busy ? "Creating…" : "Create job"}</button>
        </form>
      )}
      {!forms && error !== undefined && <ErrorBox error={error} />}
    </section>
  );
}

function OptionField({ name, schema, value, onChange }: { name: string; schema: import("../openapi").Schema; value: string; onChange: (v: string) => void }) {
  const required = isRequiredOption(schema);
  const hint = schema.default !== undefined ? `default ${String(schema.default)}` : undefined;
  const described = formatDescriptions(schema);
  const help = Object.keys(described).length ? "Output format." : schema.description;
  return (
    <label>
      <code>{name}</code> {required ? <span className="muted">(required)</span> : hint && <span className="muted">({hint})</span>}
      {schema.enum ? (
        <select name={`option-${name}`} value={value} onChange={(e) => onChange(e.target.value)}>
          {!required && <option value="">(default)</option>}
          {schema.enum.map((v) => <option key={v} value={v}>{described[v] ? `${v}: ${described[v]}` : v}</option>)}
        </select>
      ) : (
        <input
          name={`option-${name}`}
          value={value}
          inputMode={schema.type === "integer" || schema.type === "number" ? "decimal" : undefined}
          placeholder={schema.default !== undefined ? String(schema.default) : ""}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      <span className="help">{help}</span>
    </label>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import type { RealityData } from "@realconv/sdk";
import { ErrorBox, formatBytes, formatDate, ProgressBar } from "../components";
import { link } from "../router";
import { client } from "../session";
import { collectDrop, fromFileList, guessType, REALITY_DATA_TYPES, type Staged } from "../upload";
import { ITwinNav } from "./ITwins";

interface UploadState {
  name: string;
  loaded: number;
  total: number;
  done?: boolean;
  error?: unknown;
}

export function ITwinPage({ iTwinId }: { iTwinId: string }) {
  const [items, setItems] = useState<RealityData[]>();
  const [error, setError] = useState<unknown>();
  const [type, setType] = useState("auto");
  const [upload, setUpload] = useState<UploadState>();
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const refresh = useCallback(async () => {
    try {
      const out: RealityData[] = [];
      for await (const rd of client.realityData.list({ iTwinId, full: true, orderBy: "createdDateTime desc" })) {
        out.push(rd);
        if (out.length >= 1000) break;
      }
      setItems(out);
    } catch (e) {
      setError(e);
    }
  }, [iTwinId]);
  useEffect(() => void refresh(), [refresh]);

  useEffect(() => {
    // webkitdirectory is not in React's typings; set it on the element.
    folderInput.current?.setAttribute("webkitdirectory", "");
  }, []);

  async function start(staged: Staged) {
    if (staged.files.length === 0) return;
    const total = staged.files.reduce((a, f) => a + f.file.size, 0);
    setUpload({ name: staged.displayName, loaded: 0, total });
    try {
      const rdType = type === "auto" ? guessType(staged.files.map((f) => f.name)) : type;
      const rootDocument = staged.files.length === 1 ? staged.files[0].name : undefined;
      const rd = await client.realityData.create({ iTwinId, displayName: staged.displayName, type: rdType, ...(rootDocument ? { rootDocument } : {}) });
      await client.realityData.upload(
        rd.id,
        staged.files.map((f) => ({ name: f.name, data: f.file, contentType: f.file.type || undefined })),
        { onProgress: (p) => setUpload({ name: staged.displayName, loaded: p.loadedBytes, total: p.totalBytes }) },
      );
      setUpload({ name: staged.displayName, loaded: total, total, done: true });
      await refresh();
    } catch (e) {
      setUpload((u) => ({ ...(u ?? { name: staged.displayName, loaded: 0, total }), error: e }));
    }
  }

  return (
    <section>
      <ITwinNav iTwinId={iTwinId} current="data" />
      <h1>Reality data</h1>
      <div
        className={`dropzone${dragging ? " over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const read = collectDrop(e.dataTransfer);
          read().then(start, setError);
        }}
      >
        <p>Drop files or a folder here to upload them as a new reality data.</p>
        <div className="row">
          <label>
            Type{" "}
            <select value={type} onChange={(e) => setType(e.target.value)}>
              <option value="auto">from the file names</option>
              {REALITY_DATA_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
          <button type="button" onClick={() => fileInput.current?.click()}>Choose files…</button>
          <button type="button" onClick={() => folderInput.current?.click()}>Choose a folder…</button>
        </div>
        <input ref={fileInput} type="file" multiple hidden onChange={(e) => { const f = [...(e.target.files ?? [])]; e.target.value = ""; void start(fromFileList(f)); }} />
        <input ref={folderInput} type="file" multiple hidden onChange={(e) => { const f = [...(e.target.files ?? [])]; e.target.value = ""; void start(fromFileList(f)); }} />
        {upload && (
          <div className="upload" aria-live="polite">
            <p>
              {upload.done ? "Uploaded" : upload.error ? "Upload failed:" : "Uploading"} <strong>{upload.name}</strong> ({formatBytes(upload.loaded)} of {formatBytes(upload.total)})
            </p>
            <ProgressBar value={upload.total ? (upload.loaded / upload.total) * 100 : 100} label="Upload progress" />
            {upload.error !== undefined && <ErrorBox error={upload.error} />}
          </div>
        )}
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {!items && error === undefined && <p>Loading…</p>}
      {items?.length === 0 && <p>No reality data in this iTwin yet.</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Reality data">
            <thead>
              <tr><th>Name</th><th>Type</th><th>Size</th><th>Created</th><th><span className="sr">Actions</span></th></tr>
            </thead>
            <tbody>
              {items.map((rd) => (
                <tr key={rd.id} data-id={rd.id}>
                  <td><a href={link(["data", rd.id], { iTwinId })}>{rd.displayName}</a></td>
                  <td>{rd.type}</td>
                  <td>{formatBytes(rd.size * 1024)}</td>
                  <td>{formatDate(rd.createdDateTime)}</td>
                  <td><a href={link(["itwins", iTwinId, "jobs", "new"], { input: rd.id })}>New job…</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

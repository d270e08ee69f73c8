/** Small shared pieces: errors with the API's details, progress bars, sizes and dates. */
import { Component, type ReactNode } from "react";
import { RealconvError } from "@realconv/sdk";
import { AppError } from "./session";

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const e = error as { message?: string; code?: string; status?: number; details?: readonly { code: string; message: string; target?: string | null }[] };
  const known = error instanceof RealconvError || error instanceof AppError;
  return (
    <div className="error" role="alert">
      <strong>{title ?? "Error"}</strong>
      <p>
        {e?.message ?? String(error)}
        {known && e.code ? <> <code>{e.code}</code></> : null}
        {known && e.status ? <> (HTTP {e.status})</> : null}
      </p>
      {known && e.details && e.details.length > 0 && (
        <ul className="details">
          {e.details.map((d, i) => (
            <li key={i}>
              {d.target ? <code>{d.target}</code> : null} {d.message} <code>{d.code}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div className="progress">
      <progress max={100} value={v} aria-label={label} />
      <span className="progress-value" data-testid="progress-value">{v}%</span>
    </div>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDate(iso?: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export const FINAL = new Set(["Success", "Failed", "Cancelled"]);

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{state}</span>;
}

/** A page that throws while rendering shows what went wrong instead of an empty window. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error?: unknown; key?: string }> {
  override state: { error?: unknown; key?: string } = {};
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidUpdate() {
    if (this.state.error !== undefined && this.state.key !== this.props.resetKey) this.setState({ error: undefined, key: this.props.resetKey });
  }
  override componentDidMount() {
    this.setState({ key: this.props.resetKey });
  }
  override render() {
    return this.state.error !== undefined ? <ErrorBox error={this.state.error} title="This page failed" /> : this.props.children;
  }
}

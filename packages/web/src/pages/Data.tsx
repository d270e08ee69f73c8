import { useEffect, useState } from "react";
import type { RealityData } from "@realconv/sdk";
import { ErrorBox, formatDate } from "../components";
import { link } from "../router";
import { appFetch, client } from "../session";
import { RealityDataView } from "../viewers/RealityDataView";

export function DataPage({ realityDataId, iTwinId }: { realityDataId: string; iTwinId?: string }) {
  const [rd, setRd] = useState<RealityData>();
  const [containerUrl, setContainerUrl] = useState<string>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    setRd(undefined);
    Promise.all([client.realityData.get(realityDataId, { iTwinId }), client.realityData.containerUrl(realityDataId, "Read", { iTwinId })]).then(([r, c]) => {
      setRd(r);
      setContainerUrl(c);
    }, setError);
  }, [realityDataId, iTwinId]);

  return (
    <section>
      {iTwinId && <p className="crumbs"><a href={link(["itwins"])}>iTwins</a> / <a href={link(["itwins", iTwinId])}>Reality data</a></p>}
      <h1>{rd?.displayName ?? "Reality data"}</h1>
      {error !== undefined && <ErrorBox error={error} />}
      {rd && (
        <div className="row">
          {iTwinId && <a className="button" href={link(["itwins", iTwinId, "jobs", "new"], { input: rd.id })}>New job with this input…</a>}
          {iTwinId && <ShareButton realityDataId={rd.id} iTwinId={iTwinId} />}
        </div>
      )}
      {rd && containerUrl && <RealityDataView rd={rd} containerUrl={containerUrl} shared={false} />}
    </section>
  );
}

function ShareButton({ realityDataId, iTwinId }: { realityDataId: string; iTwinId: string }) {
  const [share, setShare] = useState<{ url: string; expiresAt: string }>();
  const [error, setError] = useState<unknown>();
  const [copied, setCopied] = useState(false);
  return (
    <div className="share">
      <button
        type="button"
        onClick={() => appFetch<{ url: string; expiresAt: string }>("/app/shares", { method: "POST", body: { realityDataId, iTwinId, expiresInHours: 24 } }).then(setShare, setError)}
      >
        Share a read-only link…
      </button>
      {share && (
        <div className="share-link">
          <label>
            Link (valid until {formatDate(share.expiresAt)})
            <input readOnly value={share.url} data-testid="share-url" onFocus={(e) => e.target.select()} />
          </label>
          <button type="button" onClick={() => navigator.clipboard?.writeText(share.url).then(() => setCopied(true))}>{copied ? "Copied" : "Copy"}</button>
        </div>
      )}
      {error !== undefined && <ErrorBox error={error} />}
    </div>
  );
}

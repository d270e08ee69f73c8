import { useEffect, useState } from "react";
import type { RealityData } from "@realconv/sdk";
import { ErrorBox, formatDate } from "../components";
import { appFetch } from "../session";
import { RealityDataView } from "../viewers/RealityDataView";

interface Share {
  realityData: RealityData;
  containerUrl: string;
  expiresAt: string;
}

/** A shared output, read-only, opened without signing in: the link's token gives the data and a read-only container URL. */
export function SharePage({ token }: { token: string }) {
  const [share, setShare] = useState<Share>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    appFetch<Share>(`/app/shares/${encodeURIComponent(token)}`, { auth: false }).then(setShare, setError);
  }, [token]);
  return (
    <section>
      <h1>{share?.realityData.displayName ?? "Shared reality data"}</h1>
      {error !== undefined && <ErrorBox error={error} title="This link cannot be opened" />}
      {!share && error === undefined && <p>Loading…</p>}
      {share && (
        <>
          <p className="muted">Shared read-only, until {formatDate(share.expiresAt)}.</p>
          <RealityDataView rd={share.realityData} containerUrl={share.containerUrl} shared />
        </>
      )}
    </section>
  );
}

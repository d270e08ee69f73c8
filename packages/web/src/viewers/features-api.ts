/** The collections of a FeatureDB reality data (`/reality-management/reality-data/{id}/collections`). */
import { appFetch } from "../session";

export interface Collection {
  id: string;
  title?: string;
  featureCount?: number;
  geometryTypes?: string[];
  extent?: { spatial?: { bbox?: number[][] } };
}

export async function featureCollections(id: string): Promise<Collection[]> {
  return (await appFetch<{ collections: Collection[] }>(`/reality-management/reality-data/${encodeURIComponent(id)}/collections`)).collections;
}

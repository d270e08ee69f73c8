/**
 * Read-only share links for a reality data: a signed, expiring token that opens the data without
 * signing in. Making one takes read rights on the data through the given iTwin; opening one checks the
 * signature and expiry, and that the data still exists and is still associated with that iTwin.
 */
import { errors } from "../domain/errors.js";
import type { Principal } from "../ports/auth.js";
import type { ContainerAccess } from "../ports/blob-store.js";
import type { RealityData, RealityDataStore } from "../ports/reality-data.js";
import type { ShareTokens } from "../ports/share-links.js";
import { SAS_LIFETIME_MS, type RealityDataService } from "./reality-data-service.js";

export const SHARE_HOURS = { min: 1, max: 720, default: 24 } as const;

export interface ShareServiceDeps {
  realityDataService: RealityDataService;
  realityData: RealityDataStore;
  tokens: ShareTokens;
  now?: () => Date;
}

export interface OpenedShare {
  realityData: RealityData;
  containerUrl: string;
  expiresAt: Date;
}

export class ShareService {
  private readonly now: () => Date;

  constructor(private readonly deps: ShareServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async create(principal: Principal, request: { realityDataId: string; iTwinId: string; expiresInHours?: number }): Promise<{ token: string; expiresAt: Date }> {
    const hours = request.expiresInHours ?? SHARE_HOURS.default;
    if (!Number.isInteger(hours) || hours < SHARE_HOURS.min || hours > SHARE_HOURS.max) {
      throw errors.invalidRequest("management", [
        { code: "InvalidParameter", message: `expiresInHours must be an integer from ${SHARE_HOURS.min} to ${SHARE_HOURS.max}.`, target: "expiresInHours" },
      ]);
    }
    // 404 unless the caller may read it through that iTwin.
    const rd = await this.deps.realityDataService.get(principal, request.realityDataId, request.iTwinId);
    const expiresAt = Math.floor(this.now().getTime() / 1000) + hours * 3600;
    const token = await this.deps.tokens.sign({ realityDataId: rd.id, iTwinId: request.iTwinId.toLowerCase(), expiresAt });
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }

  async open(token: string, containers: ContainerAccess): Promise<OpenedShare> {
    const now = this.now();
    const grant = await this.deps.tokens.verify(token, Math.floor(now.getTime() / 1000));
    if ("refused" in grant) throw errors.invalidShareLink(grant.refused);
    const rd = await this.deps.realityData.get(grant.realityDataId);
    if (!rd || !(await this.deps.realityData.iTwins(rd.id)).includes(grant.iTwinId)) {
      throw errors.invalidShareLink("the reality data it shares is no longer available.");
    }
    const expiresAt = new Date(grant.expiresAt * 1000);
    // Container URLs last at most as long as those the API hands out, and never beyond the link.
    const urlExpiry = new Date(Math.min(expiresAt.getTime(), now.getTime() + SAS_LIFETIME_MS));
    return { realityData: rd, containerUrl: await containers.containerUrl(rd.id, "Read", urlExpiry), expiresAt };
  }
}

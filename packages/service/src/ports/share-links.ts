/** What a share link grants: read access to one reality data, as seen through one iTwin, until it expires. */
export interface ShareGrant {
  realityDataId: string;
  iTwinId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** Signs grants into opaque tokens and checks them back; no storage (the signature is the proof). */
export interface ShareTokens {
  sign(grant: ShareGrant): Promise<string>;
  /** The grant, or the reason the token is refused (bad signature, unknown key, expired, malformed). */
  verify(token: string, nowSeconds: number): Promise<ShareGrant | { refused: string }>;
}

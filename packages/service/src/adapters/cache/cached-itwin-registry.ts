/**
 * Membership answers remembered for a few seconds: every API request asks "is this caller a member
 * of that iTwin?", and the answer changes rarely. Changes made through this registry apply at once;
 * changes made by another process (the CLI) apply within the TTL.
 */
import type { ITwin, ITwinRegistry } from "../../ports/itwins.js";

export class CachedITwinRegistry implements ITwinRegistry {
  private readonly members = new Map<string, { value: boolean; until: number }>();

  constructor(
    private readonly inner: ITwinRegistry,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 50_000,
  ) {}

  private key(iTwinId: string, email: string): string {
    return `${iTwinId.toLowerCase()}\u0000${email.toLowerCase()}`;
  }

  async isMember(iTwinId: string, email: string): Promise<boolean> {
    const key = this.key(iTwinId, email);
    const now = Date.now();
    const hit = this.members.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await this.inner.isMember(iTwinId, email);
    if (this.members.size >= this.maxEntries) this.members.clear();
    this.members.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  async addMember(iTwinId: string, email: string): Promise<void> {
    await this.inner.addMember(iTwinId, email);
    this.members.delete(this.key(iTwinId, email));
  }

  async removeMember(iTwinId: string, email: string): Promise<void> {
    await this.inner.removeMember(iTwinId, email);
    this.members.delete(this.key(iTwinId, email));
  }

  create(name: string): Promise<ITwin> {
    return this.inner.create(name);
  }

  get(id: string): Promise<ITwin | undefined> {
    return this.inner.get(id);
  }

  listForMember(email: string): Promise<ITwin[]> {
    return this.inner.listForMember(email);
  }
}

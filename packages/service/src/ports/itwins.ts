/** The small registry of iTwins and their members (by e-mail) that access control rests on. */
export interface ITwin {
  id: string;
  name: string;
  createdDateTime: string;
}

export interface ITwinRegistry {
  create(name: string): Promise<ITwin>;
  get(id: string): Promise<ITwin | undefined>;
  addMember(iTwinId: string, email: string): Promise<void>;
  removeMember(iTwinId: string, email: string): Promise<void>;
  isMember(iTwinId: string, email: string): Promise<boolean>;
  listForMember(email: string): Promise<ITwin[]>;
}

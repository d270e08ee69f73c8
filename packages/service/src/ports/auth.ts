/** Who is calling: resolved from the bearer token by an Authenticator. */
export interface Principal {
  /** Stable user id (`sub`), returned as a job's `userId`. */
  userId: string;
  /** Lower-case e-mail; iTwin membership is by e-mail. */
  email: string;
}

export interface Authenticator {
  /** Verifies `Authorization` and returns the caller, or throws an ApiError (401). */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** The sign-in link `realconv login-link` prints: the web app's sign-in page with the one-time code. */
export function signInLink(baseUrl: string, code: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/#/sign-in?code=${code}`;
}

/** The address a browser on this machine reaches a server listening on host:port at. */
export function listeningUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

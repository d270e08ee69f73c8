/**
 * A fixed register-only loop: its time shows how fast this machine's cores run at the moment (on a shared
 * VM, other tenants of the host slow them), so runs made in a slow phase can be told apart.
 */
export function calibrate() {
  let s = 1;
  const t = performance.now();
  for (let i = 0; i < 1e8; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
  }
  return { ms: performance.now() - t, s };
}

/**
 * Test-only: a real `realconv serve` child process on a loopback port chosen by the system, resolved
 * once it prints where it listens.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { CLI_PATH } from "./harness.js";

export function startServe(home: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI_PATH, "serve", "--port", "0", "--home", home, ...args], {
    env: { ...process.env, REALCONV_LOG_LEVEL: "warn", REALCONV_DATABASE_URL: "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

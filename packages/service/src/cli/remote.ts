/**
 * The commands that talk to a server with `@realconv/sdk`: `submit` (files to a finished job's output in one
 * command), `jobs` and `data`. They work against realconv and against the hosted service alike (`--server`).
 */
import { basename } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { renderMessage } from "@realconv/convert";
import type { Job, JobCreation, RealconvClient } from "@realconv/sdk";
import { loadConfig } from "../config.js";
import { ApiError } from "../domain/errors.js";
import { parseJobCreation } from "../domain/specifications.js";
import { addJobFlags, declarationOf, jobOptionsOf, realityDataTypeOf } from "./convert.js";
import { progressBar, type ProgressBar } from "./progress.js";

const DEFAULT_SERVER = "http://127.0.0.1:8080";
/** The iTwin `submit` uses with `--home` and no `--itwin`, made the first time. */
const HOME_ITWIN_NAME = "realconv";

interface RemoteFlags {
  server?: string;
  token?: string;
  home?: string;
  email?: string;
}

/** Where and as whom: every remote command has these. */
function withRemoteFlags(command: Command): Command {
  return command
    .option("--server <url>", `base URL of realconv or of the hosted APIs (env REALCONV_SERVER, default ${DEFAULT_SERVER})`)
    .option("--token <token>", "bearer token (env REALCONV_TOKEN)")
    .option("--home <dir>", "data folder of a local realconv server: a token from its issuer for --email")
    .option("--email <email>", "the user --home issues the token to (env REALCONV_EMAIL)");
}

async function tokenOf(o: RemoteFlags): Promise<string> {
  const given = o.token ?? process.env.REALCONV_TOKEN;
  if (given) return given;
  if (o.home) {
    const email = o.email ?? process.env.REALCONV_EMAIL;
    if (!email) throw new Error("--home issues a token for a user: pass --email too");
    const { issueToken, loadKeys } = await import("../adapters/auth/local-issuer.js");
    const keys = loadKeys(o.home);
    if (!keys) throw new Error(`${o.home} has no signing key: is it the home folder of a realconv server?`);
    return issueToken(keys, { email, audience: loadConfig(process.env, { home: o.home }).auth.audience });
  }
  throw new Error("no token: pass --token, set REALCONV_TOKEN, or give a local server's --home and --email");
}

async function clientOf(o: RemoteFlags): Promise<RealconvClient> {
  const token = await tokenOf(o);
  // Loaded by the commands that talk to a server only: the storage client is slow to import.
  const { createClient } = await import("@realconv/sdk");
  return createClient({ baseUrl: o.server ?? process.env.REALCONV_SERVER ?? DEFAULT_SERVER, getToken: () => token });
}

/** `--itwin`, or with `--home` the user's iTwin named "realconv" (made with the user as member the first time). */
async function iTwinOf(o: RemoteFlags & { itwin?: string }): Promise<string> {
  if (o.itwin) return o.itwin;
  const email = o.email ?? process.env.REALCONV_EMAIL;
  if (!o.home || !email) throw new Error("--itwin is required (or --home and --email, to use the user's iTwin named realconv)");
  const { openRuntime } = await import("../runtime.js");
  const rt = await openRuntime(loadConfig(process.env, { home: o.home }));
  try {
    const mine = (await rt.itwins.listForMember(email)).find((t) => t.name === HOME_ITWIN_NAME);
    if (mine) return mine.id;
    const made = await rt.itwins.create(HOME_ITWIN_NAME);
    await rt.itwins.addMember(made.id, email);
    return made.id;
  } finally {
    await rt.close();
  }
}

/** Runs a command's action; an API error is one line on stderr and exit code 1. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? 0;
    } catch (e) {
      const { RealconvError } = await import("@realconv/sdk");
      if (!(e instanceof RealconvError)) throw e;
      console.error(`realconv: ${e.describe()}`);
      process.exitCode = 1;
    }
  };
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);

async function upload(client: RealconvClient, id: string, files: string[], bar: ProgressBar): Promise<void> {
  await client.realityData.upload(id, files, {
    onProgress: (p) => bar.update(p.totalBytes > 0 ? (100 * p.loadedBytes) / p.totalBytes : 100, `uploading ${megabytes(p.loadedBytes)}/${megabytes(p.totalBytes)} MB`),
  });
  bar.end(true);
}

async function download(client: RealconvClient, id: string, dir: string, bar: ProgressBar): Promise<string[]> {
  const written = await client.realityData.download(id, dir, {
    onProgress: (p) => bar.update(p.totalBytes > 0 ? (100 * p.loadedBytes) / p.totalBytes : 100, `downloading ${p.file}`),
  });
  bar.end(true);
  return written;
}

/** Waits for a job with a progress bar, prints its messages; 0 on Success, 1 otherwise. */
async function follow(client: RealconvClient, id: string, bar: ProgressBar): Promise<{ job: Job; code: number }> {
  const job = await client.jobs.wait(id, { onProgress: (p) => bar.update(p.percentage, p.state) });
  bar.end(job.state === "Success");
  const { errors, warnings } = await client.jobs.messages(id);
  for (const w of warnings) console.error(`warning: ${renderMessage(w)}`);
  for (const e of errors) console.error(`error: ${renderMessage(e)}`);
  console.log(`job ${job.id} ${job.state}`);
  return { job, code: job.state === "Success" ? 0 : 1 };
}

/** The one reality data type of the inputs (`--input-type`, else from their extensions). */
function inputTypeOf(files: string[], given: unknown): string {
  if (typeof given === "string") return given;
  const types = [...new Set(files.map(realityDataTypeOf))];
  if (types.length > 1) throw new Error(`the files are of different types (${types.join(", ")}): choose one with --input-type`);
  return types[0];
}

async function submit(type: string, files: string[], opts: Record<string, unknown> & RemoteFlags): Promise<number> {
  const declaration = declarationOf(type);
  if (typeof declaration === "string") throw new Error(declaration);
  const options = jobOptionsOf(declaration, opts);
  const itwin = await iTwinOf({ ...opts, itwin: opts.itwin as string | undefined });
  const placeholder = "00000000-0000-0000-0000-000000000000";
  const job = {
    type: declaration.type,
    iTwinId: itwin,
    ...(typeof opts.name === "string" ? { name: opts.name } : {}),
    specifications: { inputs: { [declaration.input.key]: declaration.input.many ? [placeholder] : placeholder }, options },
  };
  // The request is checked here first, so a mistyped option fails before the upload rather than after it.
  try {
    parseJobCreation(job);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const why = (e.details ?? []).map((d) => `${d.target ? `${d.target}: ` : ""}${d.message}`).join("; ");
    throw new Error(why || e.message);
  }
  const client = await clientOf(opts);
  const bar = progressBar();
  const input = await client.realityData.create({
    iTwinId: itwin,
    displayName: files.map((f) => basename(f)).join(", ").slice(0, 256),
    type: inputTypeOf(files, opts.inputType),
  });
  let created: Job;
  try {
    await upload(client, input.id, files, bar);
    job.specifications.inputs = { [declaration.input.key]: declaration.input.many ? [input.id] : input.id };
    created = await client.jobs.create(job as JobCreation);
  } catch (e) {
    bar.end(false);
    // Nothing refers to the input yet: it is not left behind.
    await client.realityData.delete(input.id).catch(() => undefined);
    throw e;
  }
  console.log(`job ${created.id} created (input ${input.id}, output ${created.specifications.output}); follow it with: realconv jobs wait ${created.id}`);
  const { job: ended, code } = await follow(client, created.id, bar);
  if (code !== 0) return code;
  const output = ended.specifications.output;
  if (typeof opts.output !== "string") {
    console.log(`output reality data ${output}: download it with realconv data download ${output} -o DIR`);
    return 0;
  }
  const written = await download(client, output, opts.output, bar);
  console.log(`wrote ${written.length} file(s) to ${opts.output}`);
  for (const f of written) console.log(`  ${f}`);
  return 0;
}

export function submitCommand(): Command {
  const command = new Command("submit")
    .description("upload files as a reality data, run a job on a server, wait for it and download its output")
    .argument("<type>", "job type, e.g. PointCloudConversion")
    .argument("<files...>", "input files or folders (all in one reality data)")
    .option("-o, --output <dir>", "download the output here (default: print its reality data id)")
    .option("--itwin <id>", "iTwin of the input, job and output (with --home: default the user's iTwin named realconv)")
    .option("--name <name>", "job name");
  withRemoteFlags(addJobFlags(command));
  return command.action(action((type: string, files: string[], opts: Record<string, unknown> & RemoteFlags) => submit(type, files, opts)));
}

/** The filter `jobs list` sends when given none: every job the user can see (the API requires one). */
const ALL_JOBS = "createdDateTime gt 1970-01-01T00:00:00Z";

export function jobsCommand(): Command {
  const jobs = new Command("jobs").description("list, inspect, cancel and wait for jobs on a server");
  withRemoteFlags(jobs.command("list"))
    .description("list jobs, oldest first: id, state, type, name, creation time")
    .option("--filter <filter>", "OData $filter, e.g. \"state eq 'Active'\" (default: every job you can see)")
    .option("--itwin <id>", "only this iTwin's jobs (added to --filter)")
    .option("--top <n>", "at most this many jobs", positiveInt("--top"))
    .action(
      action(async (opts: RemoteFlags & { filter?: string; itwin?: string; top?: number }) => {
        const client = await clientOf(opts);
        const parts = [opts.itwin ? `iTwinId eq ${opts.itwin}` : undefined, opts.filter ? `(${opts.filter})` : undefined].filter(Boolean);
        let n = 0;
        for await (const j of client.jobs.list(parts.join(" and ") || ALL_JOBS, { top: Math.min(opts.top ?? 1000, 1000) })) {
          console.log([j.id, j.state, j.type, j.name ?? "", j.executionInfo.createdDateTime].join("\t"));
          if (++n === opts.top) break;
        }
      }),
    );
  withRemoteFlags(jobs.command("get").argument("<id>"))
    .description("print a job as JSON")
    .action(
      action(async (id: string, opts: RemoteFlags) => {
        console.log(JSON.stringify(await (await clientOf(opts)).jobs.get(id), null, 2));
      }),
    );
  withRemoteFlags(jobs.command("cancel").argument("<id>"))
    .description("cancel a job; prints its state")
    .action(
      action(async (id: string, opts: RemoteFlags) => {
        const job = await (await clientOf(opts)).jobs.cancel(id);
        console.log(`job ${job.id} ${job.state}`);
      }),
    );
  withRemoteFlags(jobs.command("wait").argument("<id>"))
    .description("wait for a job to end and print its messages; exit code 0 on Success, 1 on Failed or Cancelled")
    .action(action(async (id: string, opts: RemoteFlags) => (await follow(await clientOf(opts), id, progressBar())).code));
  return jobs;
}

export function dataCommand(): Command {
  const data = new Command("data").description("list, upload and download reality data on a server");
  withRemoteFlags(data.command("list"))
    .description("list reality data: id, type, display name")
    .option("--itwin <id>", "only this iTwin's (default: every iTwin you belong to)")
    .action(
      action(async (opts: RemoteFlags & { itwin?: string }) => {
        for await (const rd of (await clientOf(opts)).realityData.list({ iTwinId: opts.itwin })) console.log([rd.id, rd.type, rd.displayName].join("\t"));
      }),
    );
  withRemoteFlags(data.command("upload").argument("<id>", "reality data id").argument("<files...>", "files or folders (a folder's files keep their paths)"))
    .description("upload files into a reality data (an interrupted upload, run again, resumes)")
    .action(
      action(async (id: string, files: string[], opts: RemoteFlags) => {
        await upload(await clientOf(opts), id, files, progressBar());
        console.log(`uploaded ${files.length} path(s) to ${id}`);
      }),
    );
  withRemoteFlags(data.command("download").argument("<id>", "reality data id"))
    .description("download every file of a reality data into a folder")
    .requiredOption("-o, --output <dir>", "folder to write to")
    .action(
      action(async (id: string, opts: RemoteFlags & { output: string }) => {
        const written = await download(await clientOf(opts), id, opts.output, progressBar());
        console.log(`wrote ${written.length} file(s) to ${opts.output}`);
      }),
    );
  return data;
}


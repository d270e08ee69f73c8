/**
 * `realconv`: serve the API with workers, run a worker, issue local tokens, manage iTwins, run
 * conversions locally without a server, and submit jobs to a server and manage its jobs and reality data.
 */
import { Command, Option, InvalidArgumentError } from "commander";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { loadConfig, type Config } from "../config.js";
import { convertCommand } from "./convert.js";
import { dataCommand, jobsCommand, submitCommand } from "./remote.js";

const cliPath = resolve(fileURLToPath(import.meta.url), "../../../bin/realconv.js");

function intArg(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function configFrom(opts: { home?: string; port?: number; host?: string; workers?: number; apiProcesses?: number }): Config {
  return loadConfig(process.env, {
    ...(opts.apiProcesses !== undefined ? { apiProcesses: opts.apiProcesses } : {}),
    ...(opts.home !== undefined ? { home: opts.home } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
  });
}

const homeOption = new Option("--home <dir>", "data folder (database, blobs, keys); env REALCONV_HOME, default ./.realconv");

const program = new Command()
  .name("realconv")
  .description("Open, self-hostable Reality Conversion service (iTwin Reality Conversion API v2 compatible)")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the API and worker processes on the configured (by default embedded) stores")
  .option("-p, --port <port>", "port to listen on (env REALCONV_PORT, default 8080)", intArg("port"))
  .option("--host <host>", "address to bind (env REALCONV_HOST, default 127.0.0.1)")
  .option("-w, --workers <n>", "worker processes (env REALCONV_WORKERS, default: one per core)", intArg("workers"))
  .option("--api-processes <n>", "API processes sharing the port (env REALCONV_API_PROCESSES, default: one per core)", intArg("api-processes"))
  .addOption(homeOption)
  .action(async (opts) => {
    const { serve } = await import("./serve.js");
    await serve(configFrom(opts), cliPath);
  });

program
  .command("worker")
  .description("run one worker process (claims and runs jobs from the configured database)")
  .addOption(homeOption)
  .action(async (opts) => {
    const { runWorker } = await import("./worker.js");
    await runWorker(configFrom(opts));
  });

program
  .command("token")
  .description("print a bearer token for a user, signed by this server's local issuer")
  .requiredOption("--email <email>", "the user's e-mail address")
  .option("--expires-in <seconds>", "lifetime in seconds (default 28800 = 8 h)", intArg("expires-in"))
  .addOption(homeOption)
  .action(async (opts) => {
    const { issueToken, loadOrCreateKeys } = await import("../adapters/auth/local-issuer.js");
    const config = configFrom(opts);
    if (config.auth.jwksUrl) {
      console.error("realconv: REALCONV_AUTH_JWKS_URL is set: tokens come from that identity provider, not from realconv");
      process.exitCode = 1;
      return;
    }
    const { keys } = await loadOrCreateKeys(config.home);
    console.log(await issueToken(keys, { email: opts.email, expiresIn: opts.expiresIn, audience: config.auth.audience }));
  });

program
  .command("login-link")
  .description("print a one-time sign-in link to the web app for a user (embedded sign-in)")
  .requiredOption("--email <email>", "the user's e-mail address")
  .option("--ttl-minutes <n>", "how long the link may be used, in minutes (default 15)", intArg("ttl-minutes"), 15)
  .option("--base-url <url>", "the server's address as the browser reaches it (default: REALCONV_PUBLIC_URL, else the configured host and port)")
  .addOption(homeOption)
  .action(async (opts) => {
    const config = configFrom(opts);
    if (config.auth.jwksUrl) {
      console.error("realconv: REALCONV_AUTH_JWKS_URL is set: the web app signs in at that identity provider, not with realconv's links");
      process.exitCode = 1;
      return;
    }
    if (opts.ttlMinutes < 1) throw new InvalidArgumentError("--ttl-minutes must be at least 1");
    const { SignInService } = await import("../services/sign-in-service.js");
    const { signInLink, listeningUrl } = await import("./login-link.js");
    await withRuntime(config, async (rt) => {
      const { code, expiresAt } = await new SignInService(rt.signInCodes).createCode(opts.email, opts.ttlMinutes * 60_000);
      console.log(signInLink(opts.baseUrl ?? config.publicUrl ?? listeningUrl(config.host, config.port), code));
      console.error(`realconv: for ${opts.email.toLowerCase()}, usable once, until ${expiresAt.toISOString()}`);
    });
  });

const itwins = program.command("itwins").description("manage iTwins and their members");

itwins
  .command("create")
  .description("create an iTwin and print its id")
  .requiredOption("--name <name>", "display name")
  .option("--member <email...>", "e-mail addresses to add as members")
  .addOption(homeOption)
  .action(async (opts) => {
    await withRuntime(configFrom(opts), async (rt) => {
      const itwin = await rt.itwins.create(opts.name);
      for (const email of opts.member ?? []) await rt.itwins.addMember(itwin.id, email);
      console.log(itwin.id);
    });
  });

itwins
  .command("add-member")
  .description("give a user (by e-mail) access to an iTwin")
  .argument("<itwinId>")
  .argument("<email>")
  .addOption(homeOption)
  .action(async (itwinId: string, email: string, opts) => {
    await withRuntime(configFrom(opts), async (rt) => {
      if (!(await rt.itwins.get(itwinId))) throw new Error(`no iTwin ${itwinId}`);
      await rt.itwins.addMember(itwinId, email);
    });
  });

itwins
  .command("list")
  .description("list iTwins a user belongs to")
  .requiredOption("--email <email>")
  .addOption(homeOption)
  .action(async (opts) => {
    await withRuntime(configFrom(opts), async (rt) => {
      for (const t of await rt.itwins.listForMember(opts.email)) console.log(`${t.id}\t${t.name}`);
    });
  });

program.addCommand(convertCommand());
program.addCommand(submitCommand());
program.addCommand(jobsCommand());
program.addCommand(dataCommand());

async function withRuntime(config: Config, fn: (rt: import("../runtime.js").Runtime) => Promise<void>): Promise<void> {
  const { openRuntime } = await import("../runtime.js");
  const rt = await openRuntime(config);
  try {
    await fn(rt);
  } finally {
    await rt.close();
  }
}

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`realconv: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.REALCONV_DEBUG) console.error(e);
  process.exit(1);
});


// mirrorkit's stand-in for the `command` provider plugin (pulumi-command
// v1.2.1), for machines that cannot install the upstream binary: the Go module
// proxy here refuses github.com/pulumi/pulumi-command/provider and the
// plugin download host is unreachable. It serves the two resources the kit
// uses, `command:remote:Command` and `command:remote:CopyToRemote`, with the
// upstream semantics the kit relies on:
//   - Command: `create` on create; on a change of create/update/delete/stdin/
//     environment, `update` (or `create` again); `delete` on delete; a change
//     of `triggers` replaces (the SDK also sets replaceOnChanges).
//   - CopyToRemote: copies a file asset or a string asset to `remotePath`;
//     any change of source, path or triggers replaces; delete leaves the file.
// toolchain/setup.sh installs the upstream plugin instead whenever it can.
import * as provider from "@pulumi/pulumi/provider";
import { Client, type ConnectConfig } from "ssh2";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const PROVIDER_VERSION = "1.2.1";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSecret(value: Json | undefined): boolean {
  return isObject(value) && value[SIG_KEY] === SECRET_SIG;
}

/** Removes the engine's secret wrappers, reporting whether any were seen. */
function reveal(value: Json | undefined): { plain: Json | undefined; secret: boolean } {
  if (isSecret(value)) {
    return { plain: reveal((value as JsonObject).value).plain, secret: true };
  }
  if (Array.isArray(value)) {
    const parts = value.map((v) => reveal(v));
    return { plain: parts.map((p) => p.plain as Json), secret: parts.some((p) => p.secret) };
  }
  if (isObject(value) && value[SIG_KEY] === undefined) {
    let secret = false;
    const plain: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const part = reveal(v);
      secret ||= part.secret;
      if (part.plain !== undefined) plain[k] = part.plain;
    }
    return { plain, secret };
  }
  return { plain: value, secret: false };
}

function wrapSecret(value: Json): Json {
  return { [SIG_KEY]: SECRET_SIG, value };
}

interface Connection {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  password?: string;
  dialErrorLimit: number;
  perDialTimeout: number;
}

function connectionOf(inputs: JsonObject): Connection {
  const raw = reveal(inputs.connection).plain;
  if (!isObject(raw) || typeof raw.host !== "string") {
    throw new Error("connection.host is required");
  }
  return {
    host: raw.host,
    port: typeof raw.port === "number" ? raw.port : 22,
    user: typeof raw.user === "string" ? raw.user : "root",
    privateKey: typeof raw.privateKey === "string" ? raw.privateKey : undefined,
    password: typeof raw.password === "string" ? raw.password : undefined,
    dialErrorLimit: typeof raw.dialErrorLimit === "number" ? raw.dialErrorLimit : 10,
    perDialTimeout: typeof raw.perDialTimeout === "number" ? raw.perDialTimeout : 15,
  };
}

function dialOnce(conn: Connection): Promise<Client> {
  const config: ConnectConfig = {
    host: conn.host,
    port: conn.port,
    username: conn.user,
    privateKey: conn.privateKey,
    password: conn.password,
    readyTimeout: conn.perDialTimeout * 1000,
    keepaliveInterval: 10_000,
  };
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.once("error", (err) => reject(err));
    client.connect(config);
  });
}

async function dial(conn: Connection): Promise<Client> {
  let lastError: unknown;
  // dialErrorLimit < 0 means retry without limit, as upstream.
  for (let attempt = 1; conn.dialErrorLimit < 0 || attempt <= conn.dialErrorLimit; attempt++) {
    try {
      return await dialOnce(conn);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
    }
  }
  throw new Error(`ssh to ${conn.user}@${conn.host}:${conn.port} failed: ${String(lastError)}`);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

interface Run {
  stdout: string;
  stderr: string;
}

async function runRemote(conn: Connection, command: string, env: Record<string, string>, stdin?: string): Promise<Run> {
  const client = await dial(conn);
  try {
    // Variables are exported in the script rather than sent with SSH "env"
    // requests, which sshd drops unless AcceptEnv lists them.
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
      .join("");
    return await new Promise<Run>((resolve, reject) => {
      client.exec(exports + command, (err, stream) => {
        if (err) return reject(err);
        let stdout = "";
        let stderr = "";
        stream.on("data", (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        stream.on("close", (code: number | null, signal?: string) => {
          if (code === 0) return resolve({ stdout: stdout.trimEnd(), stderr: stderr.trimEnd() });
          reject(
            new Error(
              `remote command exited with ${code ?? `signal ${signal}`}:\n` +
                `stdout: ${stdout.trimEnd()}\nstderr: ${stderr.trimEnd()}`,
            ),
          );
        });
        if (stdin !== undefined) stream.end(stdin);
        else stream.end();
      });
    });
  } finally {
    client.end();
  }
}

async function assetBytes(source: Json | undefined): Promise<Buffer> {
  const asset = reveal(source).plain;
  if (!isObject(asset) || asset[SIG_KEY] !== ASSET_SIG) {
    throw new Error("CopyToRemote: source must be a file or string asset (archives are not supported here)");
  }
  if (typeof asset.text === "string") return Buffer.from(asset.text);
  if (typeof asset.path === "string") return readFile(asset.path);
  throw new Error("CopyToRemote: remote (URI) assets are not supported here");
}

async function copyRemote(conn: Connection, remotePath: string, content: Buffer): Promise<void> {
  const client = await dial(conn);
  try {
    await new Promise<void>((resolve, reject) => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        sftp.writeFile(remotePath, content, (werr) => (werr ? reject(werr) : resolve()));
      });
    });
  } finally {
    client.end();
  }
}

function stringProp(inputs: JsonObject, key: string): string | undefined {
  const value = reveal(inputs[key]).plain;
  return typeof value === "string" ? value : undefined;
}

function environmentOf(inputs: JsonObject): Record<string, string> {
  const env = reveal(inputs.environment).plain;
  const out: Record<string, string> = {};
  if (isObject(env)) {
    for (const [k, v] of Object.entries(env)) if (typeof v === "string") out[k] = v;
  }
  return out;
}

const COMMAND_DIFF_KEYS = ["create", "update", "delete", "stdin", "environment", "connection", "logging", "addPreviousOutputInEnv"];

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(reveal(a).plain ?? null) === JSON.stringify(reveal(b).plain ?? null);
}

/** Command outputs: the inputs as given (secret wrappers kept) plus stdout/stderr. */
function commandOutputs(inputs: JsonObject, run: Run): JsonObject {
  const secret = ["create", "update", "delete", "stdin", "environment"].some((k) => reveal(inputs[k]).secret);
  const outs: JsonObject = { ...inputs };
  outs.stdout = secret ? wrapSecret(run.stdout) : run.stdout;
  outs.stderr = secret ? wrapSecret(run.stderr) : run.stderr;
  return outs;
}

function typeOf(urn: string): string {
  // urn:pulumi:<stack>::<project>::<qualified type>::<name>
  const qualified = urn.split("::")[2] ?? "";
  return qualified.split("$").pop() ?? "";
}

class CommandProvider implements provider.Provider {
  readonly version = PROVIDER_VERSION;

  async check(_urn: string, _olds: JsonObject, news: JsonObject): Promise<provider.CheckResult> {
    return { inputs: news };
  }

  async diff(_id: string, urn: string, olds: JsonObject, news: JsonObject): Promise<provider.DiffResult> {
    const replaces: string[] = [];
    if (!same(olds.triggers, news.triggers)) replaces.push("triggers");
    if (typeOf(urn) === "command:remote:CopyToRemote") {
      for (const key of ["source", "remotePath"]) if (!same(olds[key], news[key])) replaces.push(key);
      return { changes: replaces.length > 0 || !same(olds.connection, news.connection), replaces };
    }
    const changed = COMMAND_DIFF_KEYS.some((k) => !same(olds[k], news[k]));
    return { changes: changed || replaces.length > 0, replaces, deleteBeforeReplace: false };
  }

  async create(urn: string, inputs: JsonObject): Promise<provider.CreateResult> {
    const conn = connectionOf(inputs);
    if (typeOf(urn) === "command:remote:CopyToRemote") {
      const remotePath = stringProp(inputs, "remotePath");
      if (!remotePath) throw new Error("CopyToRemote: remotePath is required");
      const content = await assetBytes(inputs.source);
      await copyRemote(conn, remotePath, content);
      const id = createHash("sha256").update(remotePath).update(content).digest("hex").slice(0, 16);
      return { id, outs: { ...inputs } };
    }
    const create = stringProp(inputs, "create");
    const run = create
      ? await runRemote(conn, create, environmentOf(inputs), stringProp(inputs, "stdin"))
      : { stdout: "", stderr: "" };
    const id = createHash("sha256").update(urn).update(String(Date.now())).digest("hex").slice(0, 16);
    return { id, outs: commandOutputs(inputs, run) };
  }

  async update(_id: string, urn: string, olds: JsonObject, news: JsonObject): Promise<provider.UpdateResult> {
    if (typeOf(urn) === "command:remote:CopyToRemote") return { outs: { ...news } };
    // A change of the connection alone (a new address for the same host)
    // runs nothing, as upstream.
    const commandsChanged = COMMAND_DIFF_KEYS.filter((k) => k !== "connection").some((k) => !same(olds[k], news[k]));
    if (!commandsChanged) {
      return { outs: { ...news, stdout: olds.stdout ?? "", stderr: olds.stderr ?? "" } };
    }
    const script = stringProp(news, "update") ?? stringProp(news, "create");
    const env = environmentOf(news);
    if (reveal(news.addPreviousOutputInEnv).plain !== false) {
      env.PULUMI_COMMAND_STDOUT = String(reveal(olds.stdout).plain ?? "");
      env.PULUMI_COMMAND_STDERR = String(reveal(olds.stderr).plain ?? "");
    }
    const run = script
      ? await runRemote(connectionOf(news), script, env, stringProp(news, "stdin"))
      : { stdout: "", stderr: "" };
    return { outs: commandOutputs(news, run) };
  }

  async delete(_id: string, urn: string, props: JsonObject): Promise<void> {
    if (typeOf(urn) === "command:remote:CopyToRemote") return;
    const script = stringProp(props, "delete");
    if (!script) return;
    const env = environmentOf(props);
    env.PULUMI_COMMAND_STDOUT = String(reveal(props.stdout).plain ?? "");
    env.PULUMI_COMMAND_STDERR = String(reveal(props.stderr).plain ?? "");
    await runRemote(connectionOf(props), script, env, stringProp(props, "stdin"));
  }
}

void provider.main(new CommandProvider(), process.argv.slice(2));

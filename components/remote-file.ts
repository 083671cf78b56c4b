// One rendered file delivered to a host: copied to a staging path, validated
// there by its own tool, then moved into place. A file that fails validation
// never replaces the working one. A change of content re-runs the install
// (an update, not a replace, so the file is never deleted in between); a
// re-run that finds the file already in place changes nothing; destroy
// removes the file.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { KIT_INCOMING_DIR } from "../plan/paths";
import type { Connection } from "./connection";
import { digest, script, sq } from "./shell";
import type { PlannedFile } from "../plan/files";

/** Bumped only to retire every secret copy's resource id. */
const SECRET_COPY_GENERATION = "random-id";

export interface RemoteFileArgs {
  connection: pulumi.Input<Connection>;
  /** Absolute destination path on the host. */
  path: string;
  /** The rendered file text; a secret (e.g. an rsync secrets file) stays one. */
  content: pulumi.Input<string>;
  /** Octal mode, e.g. "0644". */
  mode: string;
  owner: string;
  group: string;
  /**
   * A shell command that checks the staged file; `$STAGED` names it.
   * For example `nginx -t -q -c "$STAGED"`.
   */
  validate?: string;
}

export class RemoteFile extends pulumi.ComponentResource {
  /** The destination path. */
  readonly path: string;
  /** The rendered file text (a secret stays one). */
  readonly content: pulumi.Output<string>;
  /** Content hash; dependants put it in their scripts so they re-run on change. */
  readonly contentHash: pulumi.Output<string>;
  /** The command that installs the file; depend on it to order after the file. */
  readonly installed: command.remote.Command;

  constructor(name: string, args: RemoteFileArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:host:RemoteFile", name, args, opts);
    this.path = args.path;
    const content = pulumi.output(args.content);
    this.contentHash = content.apply((c) => digest(args.path, c, args.mode, args.owner, args.group));

    // Staged under a name unique to this destination, kept after install so
    // a re-run with no change has nothing to copy.
    const staged = `${KIT_INCOMING_DIR}/${digest(args.path)}-${args.path.split("/").pop()}`;
    const copy = new command.remote.CopyToRemote(
      `${name}-copy`,
      {
        connection: args.connection,
        source: content.apply((c) => new pulumi.asset.StringAsset(c)),
        remotePath: staged,
        // A secret file's copy carries a trigger, so a copy made by
        // mirrorkit's former stand-in provider, whose resource id was a
        // hash of the secret (kept unencrypted in state), is replaced once
        // and gets a random id. A replace only copies the file again.
        // (Resolving to undefined leaves the input unset on other files.)
        triggers: pulumi.output(pulumi.isSecret(content)).apply((secret) => (secret ? [SECRET_COPY_GENERATION] : undefined)) as pulumi.Output<string[]>,
      },
      // Children wait for what the component waits for (the staging dir).
      { parent: this, dependsOn: opts?.dependsOn },
    );

    const dir = args.path.replace(/\/[^/]+$/, "") || "/";
    this.installed = new command.remote.Command(
      `${name}-install`,
      {
        connection: args.connection,
        create: pulumi.interpolate`# mirrorkit file ${args.path} content ${this.contentHash}
${script(
          `STAGED=${sq(staged)}`,
          `chmod ${args.mode} "$STAGED"`,
          `chown ${sq(`${args.owner}:${args.group}`)} "$STAGED"`,
          // Already in place (a re-run for a new connection, say): nothing to do.
          `if cmp -s "$STAGED" ${sq(args.path)} && [ "$(stat -c '%a %U %G' "$STAGED")" = "$(stat -c '%a %U %G' ${sq(args.path)})" ]; then exit 0; fi`,
          ...(args.validate ? [`( ${args.validate} ) || { echo "validation failed for ${args.path}" >&2; exit 1; }`] : []),
          `install -d -m 0755 ${sq(dir)}`,
          // Copy then rename: the destination is replaced atomically.
          `cp -p "$STAGED" ${sq(`${args.path}.mirrorkit-new`)}`,
          `mv -f ${sq(`${args.path}.mirrorkit-new`)} ${sq(args.path)}`,
        )}`,
        delete: script(`rm -f ${sq(args.path)} ${sq(staged)}`),
      },
      { parent: this, dependsOn: [copy] },
    );

    this.content = content;
    // Stack policies see a component only through its outputs, and the
    // copy's asset is unknown in a preview: the rendered file itself is
    // registered, so every mandatory rule reads it before anything runs.
    this.registerOutputs({ path: this.path, content, mode: args.mode, owner: args.owner, group: args.group, contentHash: this.contentHash });
  }
}

/** A planned file's delivery args; a secret file's content is given by the caller. */
export function plannedFileArgs(connection: pulumi.Input<Connection>, f: PlannedFile, content: pulumi.Input<string> = f.content): RemoteFileArgs {
  return { connection, path: f.path, content, mode: f.mode, owner: f.owner, group: f.group, ...(f.check !== undefined ? { validate: f.check } : {}) };
}
